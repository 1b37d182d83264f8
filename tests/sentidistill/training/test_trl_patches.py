"""The TRL patches change speed only: the same loss, gradients and logged metrics as TRL's own path."""

from __future__ import annotations


def test_lm_head_on_labelled_positions_only_gives_the_same_loss_and_gradients(tiny_llama, monkeypatch):
    """The CPU speed-up (project the LM head only where a label is) changes no number."""
    import torch
    import trl.trainer.utils as trl_utils
    from transformers import AutoModelForCausalLM

    from sentidistill.training.trl_patches import score_labelled_positions_only

    # TRL's own switch (an earlier training test may have installed ours already); restored after
    monkeypatch.setattr(trl_utils, "_use_triton", getattr(trl_utils._use_triton, "__wrapped__", trl_utils._use_triton))
    model = AutoModelForCausalLM.from_pretrained(tiny_llama / "hf", dtype=torch.float32)
    trl_utils.add_fused_lm_head(model, outputs=("log_probs", "entropy", "is_top1"))
    torch.manual_seed(0)
    ids = torch.randint(0, 49152, (2, 24))
    labels = ids.clone()
    labels[0, :20] = -100  # a long prompt and a short completion, as in ICLDist
    labels[1, :9] = -100

    def run():
        model.zero_grad()
        out = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels, fused_lm_head=True)
        out.loss.backward()
        grads = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
        return out, grads

    full, g_full = run()
    assert not trl_utils._use_triton(torch.device("cpu"))
    assert score_labelled_positions_only() and score_labelled_positions_only()  # idempotent
    assert trl_utils._use_triton(torch.device("cpu"))
    compact, g_compact = run()
    torch.testing.assert_close(compact.loss, full.loss)
    torch.testing.assert_close(compact.entropy, full.entropy)
    torch.testing.assert_close(compact.log_probs, full.log_probs)
    torch.testing.assert_close(g_compact, g_full)
