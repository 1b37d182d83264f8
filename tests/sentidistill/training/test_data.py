"""Corpus -> prompt-completion records, and the token labels TRL builds from them:
chat template applied, prompt masked, the eos (<|im_end|>, also the pad token) NOT masked."""

from __future__ import annotations

import pytest

from sentidistill.training.data import load_records, to_record


def test_records_keep_policy_and_accounting(corpora):
    recs, stats = load_records(["knowdist", "icldist"], chat_template=True, max_rows=None, seed=0, paths=corpora)
    kd, icl = stats["corpora"]["knowdist"], stats["corpora"]["icldist"]
    assert kd == {"rows": 6, "kept": 5, "excluded": {"empty": 1}, "used": 5, "removed": {"max_rows": 0}}
    assert icl["excluded"] == {"parse_failed": 1} and icl["used"] == 5
    assert len(recs) == 10 == stats["rows_used"]
    assert recs[0]["prompt"][0]["role"] == "user" and recs[0]["completion"][0]["role"] == "assistant"
    assert all(r["completion"][0]["content"] for r in recs)  # the empty answer is not trained on


def test_max_rows_is_seeded_and_counted(corpora):
    a, sa = load_records(["knowdist", "icldist"], chat_template=True, max_rows=4, seed=1, paths=corpora)
    b, _ = load_records(["knowdist", "icldist"], chat_template=True, max_rows=4, seed=1, paths=corpora)
    assert a == b and len(a) == 4
    removed = sum(s["removed"]["max_rows"] for s in sa["corpora"].values())
    assert removed == 6


def test_missing_corpus_says_what_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="teacher_generate@knowdist"):
        load_records(
            ["knowdist"], chat_template=True, max_rows=None, seed=0, paths={"knowdist": tmp_path / "nope.parquet"}
        )


def test_plain_format():
    assert to_record("Sentence: x\nOutput:", "positive", chat_template=False) == {
        "prompt": "Sentence: x\nOutput:",
        "completion": " positive",
    }


def _prepared(records, tokenizer_dir, tmp_path, max_length=256):
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTTrainer

    from sentidistill.training.config import load_training_params
    from sentidistill.training.sft import sft_config

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    hp = load_training_params().stage("knowdist").model_copy(update={"max_length": max_length, "precision": "fp32"})
    args = sft_config(hp, tmp_path / "out", logging_steps=1, save_steps=1, save_total_limit=1, chat_template=True)
    model = AutoModelForCausalLM.from_pretrained(tokenizer_dir)
    trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(records), processing_class=tok)
    batch = trainer.data_collator([trainer.train_dataset[i] for i in range(len(records))])
    return tok, batch


def test_completion_only_labels_keep_eos(corpora, tiny_llama, tmp_path):
    recs, _ = load_records(["icldist"], chat_template=True, max_rows=None, seed=0, paths=corpora)
    recs = [recs[0], {**recs[1], "completion": [{"role": "assistant", "content": "a much longer answer " * 5}]}]
    tok, batch = _prepared(recs, tiny_llama / "hf", tmp_path)
    eos = tok.convert_tokens_to_ids("<|im_end|>")
    assert tok.pad_token_id == eos  # SmolLM2: pad == eos, so masking pad ids would hide the eos label
    for i, rec in enumerate(recs):
        ids = batch["input_ids"][i].tolist()
        labels = batch["labels"][i].tolist()
        attn = batch["attention_mask"][i].tolist()
        n = sum(attn)
        text = tok.decode(ids[:n])
        # chat template applied: SmolLM2's default system turn, the user turn, the assistant turn
        assert text.startswith("<|im_start|>system\n") and "<|im_start|>user\n" + rec["prompt"][0]["content"] in text
        answer = rec["completion"][0]["content"]
        trained = [t for t, lab in zip(ids, labels) if lab != -100]
        decoded = tok.decode(trained)
        # only the completion is trained: the answer, the closing eos, the template's newline
        assert decoded == answer + "<|im_end|>\n"
        assert eos in trained
        # every prompt token is masked, and padding is masked
        prompt_len = ids.index(tok.convert_tokens_to_ids("<|im_start|>"), 1)  # start of user turn
        assert all(lab == -100 for lab in labels[:prompt_len])
        assert all(lab == -100 for lab, a in zip(labels, attn) if a == 0)
    # the shorter row is padded with pad == eos, and those are masked while its real eos is not
    assert 0 in batch["attention_mask"][0].tolist()


ICL_MSG = (
    "Please perform sentiment classification task. The label should be one of the following: "
    "['POS', 'NEG', 'NEU'].\n\nSentence: great food!\nOutput: POS\n\nSentence: awful.\nOutput: NEG\n\n"
    "Sentence: meh, ok\nOutput:"
)


@pytest.mark.parametrize("chat_template", [False, True])
def test_demo_label_loss_trains_every_demonstration_label_and_the_answer(chat_template, tiny_llama, tmp_path):
    """training.demo_label_loss: the labels TRL builds cover ' POS', ' NEG' and the answer (+ eos), nothing else."""
    from transformers import AutoTokenizer

    from sentidistill.training.data import demo_label_spans
    from sentidistill.training.sft import tokenize_with_label_spans

    tok = AutoTokenizer.from_pretrained(tiny_llama / "hf")
    rec = {**to_record(ICL_MSG, "NEU", chat_template=chat_template), "label_spans": demo_label_spans(ICL_MSG)}
    assert [ICL_MSG[a:b] for a, b in rec["label_spans"]] == [" POS", " NEG"]
    pre = tokenize_with_label_spans([rec], tok)
    _, batch = _prepared(pre, tiny_llama / "hf", tmp_path)
    ids, labels = batch["input_ids"][0].tolist(), batch["labels"][0].tolist()
    trained = tok.decode([t for t, lab in zip(ids, labels) if lab != -100])
    answer = "NEU<|im_end|>\n" if chat_template else " NEU<|im_end|>"
    assert trained == " POS NEG" + answer
    # without spans the same record trains the answer only, exactly as TRL's own tokenization
    plain = tokenize_with_label_spans([{k: v for k, v in rec.items() if k != "label_spans"}], tok)[0]
    _, own = _prepared([to_record(ICL_MSG, "NEU", chat_template=chat_template)], tiny_llama / "hf", tmp_path)
    assert plain["input_ids"] == own["input_ids"][0].tolist()[: len(plain["input_ids"])]


def test_demo_label_loss_marks_only_sentiment_and_emotion_rows(corpora):
    recs, stats = load_records(
        ["icldist"], chat_template=False, max_rows=None, seed=0, paths=corpora, demo_label_loss=True
    )
    assert all("label_spans" in r for r in recs) and stats["demo_label_targets"] == sum(
        len(r["label_spans"]) for r in recs
    )


def test_pretokenized_rows_are_measured_and_dropped_by_their_own_length(tiny_llama):
    from transformers import AutoTokenizer

    from sentidistill.training.data import demo_label_spans
    from sentidistill.training.sft import drop_too_long, tokenize_with_label_spans

    tok = AutoTokenizer.from_pretrained(tiny_llama / "hf")
    rec = {**to_record(ICL_MSG, "NEU", chat_template=False), "label_spans": demo_label_spans(ICL_MSG)}
    short = {**to_record("Sentence: ok\nOutput:", "NEU", chat_template=False), "label_spans": []}
    pre = tokenize_with_label_spans([rec, short], tok)
    kept, removed = drop_too_long(pre, tok, len(pre[1]["input_ids"]))
    assert removed == 1 and kept == [pre[1]]
