"""One SFT stage with TRL's ``SFTTrainer`` (KnowDist, ICLDist or unified; Section 2, 4.1).

The student learns the teacher's answer to each prompt (sequence-level distillation; the
teacher and SmolLM2 have different tokenizers): prompt-completion records, loss on the
completion only. Checkpoints go to ``<cache_dir>/<stage>/<fingerprint>/`` where the
fingerprint hashes the training rows, the effective hyper-parameters and the starting
model, so an interrupted run resumes from its last checkpoint and a changed input starts
fresh. The trained model goes to :func:`sentidistill.models.folder.write_student` (``<out>/hf/`` +
``manifest.json`` + card, the layout of ``models/<name>/``); per-step loss / learning rate go to
:mod:`sentidistill.training.loss_log` for ``dvc plots``.

Distributed runs: launch the same stage module with ``accelerate launch`` (FSDP/DeepSpeed
configs, docs/training.md); the global ``batch_size`` is kept by dividing it by
``per_device_batch_size x WORLD_SIZE`` into gradient-accumulation steps.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from sentidistill.faults import failpoint
from sentidistill.log import get_logger
from sentidistill.models.folder import model_identity, write_student
from sentidistill.precision import resolve_precision
from sentidistill.tracking import trainer_reporting
from sentidistill.training.config import StageHparams, TrainingParams
from sentidistill.training.loss_log import log_rows, plot_log
from sentidistill.training.trl_patches import score_labelled_positions_only

log = get_logger(__name__)


def fingerprint(data_sha256: str, hp: StageHparams, base_identity: str, chat_template: bool) -> str:
    payload = {"data": data_sha256, "hparams": hp.model_dump(), "base": base_identity, "chat_template": chat_template}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def sft_config(
    hp: StageHparams,
    out_dir: Path,
    *,
    logging_steps: int,
    save_steps: int,
    save_total_limit: int,
    chat_template: bool,
    report_to: list[str] | None = None,
) -> Any:
    """``trl.SFTConfig`` from the stage hyper-parameters (every value from params)."""
    import torch
    from trl import SFTConfig

    on_cpu = not torch.cuda.is_available()
    return SFTConfig(
        output_dir=str(out_dir),
        num_train_epochs=hp.epochs,
        max_steps=hp.max_steps,
        per_device_train_batch_size=hp.per_device_batch_size,
        gradient_accumulation_steps=hp.grad_accumulation(world_size()),
        learning_rate=hp.learning_rate,
        lr_scheduler_type=hp.lr_scheduler,
        warmup_steps=hp.warmup_ratio,  # a float in [0, 1) is a ratio of the total steps
        weight_decay=hp.weight_decay,
        adam_beta1=hp.adam_beta1,
        adam_beta2=hp.adam_beta2,
        adam_epsilon=hp.adam_epsilon,
        max_grad_norm=hp.max_grad_norm,
        max_length=hp.max_length,
        bf16=hp.precision == "bf16",
        fp16=hp.precision == "fp16",
        gradient_checkpointing=hp.gradient_checkpointing,
        train_sampling_strategy=hp.sampling,
        completion_only_loss=True,
        seed=hp.seed,
        data_seed=hp.seed,
        use_cpu=on_cpu,
        logging_steps=logging_steps,
        save_strategy="steps",
        save_steps=save_steps,
        save_total_limit=save_total_limit,
        report_to=report_to or ["none"],
        dataloader_num_workers=0,
        disable_tqdm=False,
        model_init_kwargs=None,
    )


#: what a resumable Trainer checkpoint holds; ``trainer_state.json`` is written last (Trainer._save_checkpoint)
CHECKPOINT_FILES = ("trainer_state.json", "optimizer.pt", "scheduler.pt")
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json")
INCOMPLETE_DIR = "incomplete"


def _checkpoint_problem(ckpt: Path) -> str | None:
    """Why ``ckpt`` cannot be resumed from (None if it can): a kill during the Trainer's save
    leaves a folder without its last files, or with a cut ``trainer_state.json``."""
    missing = [f for f in CHECKPOINT_FILES if not (ckpt / f).is_file()]
    if not any((ckpt / f).is_file() for f in WEIGHT_FILES):
        missing.append("model weights")
    if missing:
        return f"missing {', '.join(missing)}"
    try:
        state = json.loads((ckpt / "trainer_state.json").read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        return f"unreadable trainer_state.json ({exc})"
    if f"checkpoint-{state.get('global_step')}" != ckpt.name:
        return f"trainer_state.json says step {state.get('global_step')}"
    return None


def last_complete_checkpoint(ckpt_dir: Path) -> str | None:
    """The newest checkpoint that is whole. Newer ones that are not (a kill mid-save) are moved
    to ``incomplete/`` with a warning -- never deleted, never resumed from (transformers'
    ``get_last_checkpoint`` takes the newest folder as it is, and the resume then fails)."""
    found = sorted(
        (p for p in ckpt_dir.glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()),
        key=lambda p: int(p.name.split("-")[-1]),
        reverse=True,
    )
    for ckpt in found:
        problem = _checkpoint_problem(ckpt)
        if problem is None:
            return str(ckpt)
        dest = ckpt_dir / INCOMPLETE_DIR / f"{ckpt.name}.{time.strftime('%Y%m%dT%H%M%S')}"
        dest.parent.mkdir(exist_ok=True)
        ckpt.replace(dest)
        log.warning("checkpoint %s is incomplete (%s): moved to %s; resuming from an earlier one", ckpt, problem, dest)
    return None


def _failpoints() -> Any:
    """Callback with the training failpoints of :mod:`sentidistill.faults` (no-ops unless set)."""
    from transformers import TrainerCallback

    class Failpoints(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001
            failpoint("training.step")

        def on_save(self, args, state, control, **kwargs):  # noqa: ANN001
            failpoint("training.checkpoint_saved")

    return Failpoints()


def _stop_after(n: int) -> Any:
    """Callback that interrupts training after ``n`` optimizer steps (tests of resume)."""
    from transformers import TrainerCallback

    class StopAfter(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001
            if state.global_step >= n:
                control.should_save = True
                control.should_training_stop = True
            return control

    return StopAfter()


def interpolate_weights(model: Any, start_hf: Path, alpha: float) -> Any:
    """``start + alpha * (model - start)`` for every parameter (in place; tied weights once)."""
    import torch
    from transformers import AutoModelForCausalLM

    from sentidistill.models.safe_load import remote_code_allowed, require_safetensors

    if alpha >= 1.0:
        return model
    require_safetensors(start_hf)
    start = AutoModelForCausalLM.from_pretrained(
        start_hf, dtype=torch.float32, trust_remote_code=remote_code_allowed(start_hf), use_safetensors=True
    ).state_dict()
    seen: set[int] = set()
    with torch.no_grad():
        for name, p in model.state_dict().items():
            if name in start and p.dtype.is_floating_point and p.data_ptr() not in seen:
                seen.add(p.data_ptr())  # tied tensors (embeddings = LM head) share storage: once
                p.copy_(start[name].to(p.dtype) + alpha * (p - start[name].to(p.dtype)))
    return model


def freeze_embeddings(model: Any) -> int:
    """Stop gradients to the input embeddings and the output head (the same tensor when tied);
    returns how many parameters were frozen."""
    frozen: dict[int, Any] = {}
    for module in (model.get_input_embeddings(), model.get_output_embeddings()):
        if module is not None:
            for p in module.parameters():
                p.requires_grad_(False)
                frozen[id(p)] = p
    return sum(p.numel() for p in frozen.values())


def tokenize_with_label_spans(records: list[dict[str, Any]], tokenizer: Any) -> list[dict[str, Any]]:
    """Pre-tokenized records (``input_ids`` + ``completion_mask``) whose loss covers the
    completion *and* every character span of ``label_spans`` in the user message (the
    demonstration labels, ``training.demo_label_loss``). Rendered as TRL renders the
    prompt-completion record (chat template, or plain text + eos), so the tokens equal
    TRL's own for the same row; a token is a target when its characters overlap a span."""
    out = []
    for r in records:
        if isinstance(r["prompt"], list):
            prompt = tokenizer.apply_chat_template(r["prompt"], tokenize=False, add_generation_prompt=True)
            full = tokenizer.apply_chat_template(r["prompt"] + r["completion"], tokenize=False)
            message = r["prompt"][-1]["content"]
        else:
            prompt, message = r["prompt"], r["prompt"]
            full = prompt + r["completion"]
            if tokenizer.eos_token and not full.endswith(tokenizer.eos_token):
                full += tokenizer.eos_token
        if not full.startswith(prompt):
            raise ValueError("the rendered prompt is not a prefix of prompt + completion: cannot place the answer")
        offset = prompt.find(message)
        spans = [(a + offset, b + offset) for a, b in r.get("label_spans", [])] if offset >= 0 else []
        enc = tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
        mask = []
        for a, b in enc["offset_mapping"]:
            target = b > len(prompt) or any(a < e and b > s for s, e in spans)
            mask.append(1 if target else 0)
        out.append({"input_ids": list(enc["input_ids"]), "completion_mask": mask})
    return out


def token_lengths(records: list[dict[str, Any]], tokenizer: Any) -> list[int]:
    """Tokens of prompt + completion as the trainer will see them."""
    out = []
    for r in records:
        if "input_ids" in r:
            out.append(len(r["input_ids"]))
            continue
        if isinstance(r["prompt"], list):
            text = tokenizer.apply_chat_template(r["prompt"] + r["completion"], tokenize=False)
        else:
            text = r["prompt"] + r["completion"]
        out.append(len(tokenizer(text, add_special_tokens=False)["input_ids"]))
    return out


def drop_too_long(records: list[dict[str, Any]], tokenizer: Any, max_length: int) -> tuple[list[dict[str, Any]], int]:
    """Rows longer than ``max_length`` are removed, not truncated: truncation cuts the
    completion (the only tokens with a loss) and would teach unfinished answers."""
    lengths = token_lengths(records, tokenizer)
    kept = [r for r, n in zip(records, lengths) if n <= max_length]
    return kept, len(records) - len(kept)


def train_stage(
    records: list[dict[str, Any]],
    *,
    base_hf: Path,
    out_root: Path,
    hp: StageHparams,
    cfg: TrainingParams,
    stage: str,
    data_stats: dict[str, Any],
    manifest_extra: dict[str, Any],
    cache_dir: Path,
    plot_stem: Path,
    live_dir: Path | None = None,
    stop_after_steps: int | None = None,
) -> dict[str, Any]:
    """Fine-tune ``base_hf`` on ``records``; resume from the last checkpoint of the same
    fingerprint. Returns metrics; writes the model folder unless interrupted on purpose."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTTrainer

    from sentidistill.models.safe_load import remote_code_allowed, require_safetensors

    choice = resolve_precision(hp.precision)
    log.info("%s: precision %s (%s: %s)", stage, choice.used, choice.requested, choice.reason)
    hp = hp.model_copy(update={"precision": choice.used})  # what ran, in the fingerprint and manifest
    require_safetensors(base_hf)  # never unpickle weights (a .bin-only folder is refused)
    trust = remote_code_allowed(base_hf)  # off unless the base model's registry entry turns it on
    tokenizer = AutoTokenizer.from_pretrained(base_hf, trust_remote_code=trust)
    if any("label_spans" in r for r in records):
        records = tokenize_with_label_spans(records, tokenizer)
        data_stats = {**data_stats, "loss_tokens": sum(sum(r["completion_mask"]) for r in records)}
    records, too_long = drop_too_long(records, tokenizer, hp.max_length)
    data_stats = {**data_stats, "removed_too_long": too_long, "rows_trained": len(records)}
    if too_long:
        log.warning("%s: %d rows longer than max_length %d tokens removed", stage, too_long, hp.max_length)
    if not records:
        raise ValueError(
            f"{stage}: no training rows (every corpus row excluded or too long): check the corpus, "
            "its policy and training max_length"
        )
    fp = fingerprint(data_stats["data_sha256"], hp, model_identity(base_hf), cfg.chat_template)
    ckpt_dir = cache_dir / stage / fp[:16]
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    last = last_complete_checkpoint(ckpt_dir)
    log.info(
        "%s: %d rows, checkpoints in %s%s",
        stage,
        len(records),
        ckpt_dir,
        f" (resuming from {Path(last).name})" if last else "",
    )

    torch.manual_seed(hp.seed)
    score_labelled_positions_only()
    model = AutoModelForCausalLM.from_pretrained(
        base_hf, dtype=torch.float32, trust_remote_code=trust, use_safetensors=True
    )
    if hp.freeze_embeddings:
        frozen = freeze_embeddings(model)
        log.info("%s: token embeddings and LM head frozen (%d parameters)", stage, frozen)
    report_to, trackers = trainer_reporting(cfg.report_to, live_dir, resume=last is not None)
    args = sft_config(
        hp,
        ckpt_dir,
        logging_steps=cfg.logging_steps,
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        chat_template=cfg.chat_template,
        report_to=report_to,
    )
    callbacks = [*trackers, _failpoints(), *([_stop_after(stop_after_steps)] if stop_after_steps else [])]
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(records),
        processing_class=tokenizer,
        callbacks=callbacks,
    )
    n_tokens = sum(len(x) for x in trainer.train_dataset["input_ids"])
    t0 = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=last)
    train_s = time.perf_counter() - t0
    rows = log_rows(trainer.state.log_history)
    plot_log(rows, plot_stem, f"{stage}: training loss")
    metrics = {
        "stage": stage,
        "fingerprint": fp,
        "resumed_from": Path(last).name if last else None,
        "global_step": trainer.state.global_step,
        "max_steps": trainer.state.max_steps,
        "epochs": hp.epochs,
        "train_seconds": round(train_s, 1),
        "train_loss": round(float(result.training_loss), 4),
        "first_loss": rows[0]["loss"] if rows else None,
        "last_loss": rows[-1]["loss"] if rows else None,
        "train_tokens_per_epoch": n_tokens,
        "precision": choice.as_dict(),
        "rows": data_stats,
    }
    if stop_after_steps and trainer.state.global_step < trainer.state.max_steps:
        return {**metrics, "interrupted": True}
    manifest = {
        **manifest_extra,
        "trained": True,
        "fingerprint": fp,
        "data": data_stats,
        "hparams": hp.model_dump(),
        "precision": choice.as_dict(),
        "train_metrics": {
            k: metrics[k] for k in ("global_step", "train_loss", "first_loss", "last_loss", "train_seconds")
        },
        "n_params": sum(p.numel() for p in model.parameters()),
        "dtype": cfg.save_dtype,
    }
    if hp.interpolation < 1.0:
        log.info("%s: interpolating with the starting model (a = %s)", stage, hp.interpolation)
    write_student(
        interpolate_weights(trainer.model, base_hf, hp.interpolation), tokenizer, out_root, manifest, cfg.save_dtype
    )
    if not cfg.keep_checkpoints:
        shutil.rmtree(ckpt_dir, ignore_errors=True)
        log.info("%s: finished; removed its resume checkpoints (training.keep_checkpoints: false)", stage)
    return metrics
