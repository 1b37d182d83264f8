"""Stage logic of ``classifier_train``: fine-tune a compact encoder on the teacher's labels.

* Data: the teacher-labels table; rows whose answer did not parse are excluded and counted
  by reason (``teacher rows = used + excluded``). A seeded, label-stratified share
  (``heldout_fraction``) is held out for model selection: evaluation every epoch, the best
  epoch by ``best_metric`` is kept (``load_best_model_at_end``) and training stops after
  ``early_stopping_patience`` epochs without improvement.
* Loss: ``hard`` = cross-entropy on the teacher's label; ``soft`` = cross-entropy against the
  teacher's label probabilities (equal to KL(teacher || student) up to a constant); a row
  without probabilities uses its one-hot label (counted). ``class_weighting: balanced``
  weighs each class by ``n / (n_labels * n_c)`` of the training rows (rare labels such as
  ``neutral`` count more).
* Output: a standard HF folder (``AutoModelForSequenceClassification`` + tokenizer, with
  ``id2label``/``label2id``; ``model_max_length`` = ``inference_max_length``) and a model
  card (``README.md``) with the data, hyper-parameters, git revision and held-out scores.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import time
from pathlib import Path
from typing import Any

import polars as pl

from sentidistill.classifier.config import LabelParams, TrainParams
from sentidistill.classifier.parse import PARSE_ERRORS
from sentidistill.headline import write_stats
from sentidistill.io import atomic_folder, read_parquet, write_json, write_text
from sentidistill.log import get_logger
from sentidistill.models.folder import CARD
from sentidistill.provenance import git_revision
from sentidistill.schemas.classifier import labels_schema
from sentidistill.sentibench.metrics import classification_scores
from sentidistill.tracking import trainer_reporting

log = get_logger(__name__)

SUMMARY = "training_summary.json"


class NotEnoughLabelsError(ValueError):
    """Too few teacher labels parsed to train on."""


# ------------------------------------------------------------------------------ data
def usable_rows(labels: pl.DataFrame, params: TrainParams) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Rows with a parsed label (+ accounting of the excluded ones)."""
    ok = labels.filter(pl.col("parse_error").is_null())
    excluded = {e: int((labels["parse_error"] == e).sum()) for e in PARSE_ERRORS}
    stats = {"teacher_rows": labels.height, "used": ok.height, "excluded_parse_failed": excluded}
    if labels.height != ok.height + sum(excluded.values()):  # pragma: no cover - schema guarantees it
        raise AssertionError("teacher rows do not add up")
    if ok.height < params.min_train_rows:
        raise NotEnoughLabelsError(
            f"only {ok.height} of {labels.height} teacher answers gave a label (parse errors: "
            f"{ {k: v for k, v in excluded.items() if v} }); classifier.train.min_train_rows is {params.min_train_rows}. "
            "Look at the raw answers in the labels table, then fix classifier.labels.prompt / aliases or raise n_texts."
        )
    return ok, stats


def split_heldout(df: pl.DataFrame, fraction: float, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Seeded, label-stratified split: per label, ``round(n * fraction)`` rows (at least one when
    the label has two or more rows, never all of them) go to the held-out set."""
    rank = df["text_id"].map_elements(
        lambda t: hashlib.blake2b(f"{seed}\x1f{t}".encode(), digest_size=8).hexdigest(), return_dtype=pl.Utf8
    )
    df = df.with_columns(_rank=rank).sort("label_id", "_rank")
    held, train = [], []
    for (_,), g in df.group_by("label_id", maintain_order=True):
        n = g.height
        k = min(max(round(n * fraction), 1 if n >= 2 else 0), n - 1) if n else 0
        held.append(g.head(k))
        train.append(g.slice(k))
    cols = [c for c in df.columns if c != "_rank"]
    out_train = pl.concat(train).sort("_rank").select(cols)
    out_held = pl.concat(held).sort("_rank").select(cols) if held else df.clear().select(cols)
    return out_train, out_held


def targets(df: pl.DataFrame, n_labels: int, label_type: str) -> tuple[list[list[float]], int]:
    """Per-row target distributions; returns (targets, rows that fell back to one-hot)."""
    out, fallback = [], 0
    for lid, probs in zip(df["label_id"].to_list(), df["soft_probs"].to_list()):
        if label_type == "soft" and probs is not None:
            out.append([float(p) for p in probs])
            continue
        fallback += label_type == "soft"
        out.append([1.0 if i == lid else 0.0 for i in range(n_labels)])
    return out, fallback


class _Rows:
    """A tiny map-style dataset of tokenized rows (plain lists; the collator pads)."""

    def __init__(self, enc: dict[str, list], labels: list[int], tgt: list[list[float]]) -> None:
        self.enc, self.labels, self.tgt = enc, labels, tgt

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict[str, Any]:
        item = {k: v[i] for k, v in self.enc.items()}
        item["labels"] = self.labels[i]
        item["targets"] = self.tgt[i]
        return item


def _collator(tokenizer: Any) -> Any:
    import torch

    keys = ("input_ids", "attention_mask", "token_type_ids")

    def collate(features: list[dict[str, Any]]) -> dict[str, Any]:
        batch = tokenizer.pad([{k: f[k] for k in keys if k in f} for f in features], return_tensors="pt")
        batch["labels"] = torch.tensor([f["labels"] for f in features], dtype=torch.long)
        batch["targets"] = torch.tensor([f["targets"] for f in features], dtype=torch.float32)
        return dict(batch)

    return collate


def soft_cross_entropy(logits: Any, target_probs: Any, class_weights: Any = None) -> Any:
    """Mean over rows of ``-sum_c p_teacher(c) log p_student(c)`` (= KL(teacher || student) +
    the teacher's entropy). With ``class_weights`` each term is weighted by ``w_c`` and the sum
    normalized by the rows' total weight ``sum_c w_c p_teacher(c)``, so one-hot targets give
    exactly torch's weighted ``cross_entropy``."""
    import torch

    terms = -target_probs * torch.log_softmax(logits.float(), dim=-1)
    if class_weights is None:
        return terms.sum(dim=-1).mean()
    return (terms * class_weights).sum() / (target_probs * class_weights).sum()


def class_weights(label_ids: list[int], n_labels: int, mode: str) -> list[float] | None:
    """``balanced``: ``n / (n_labels * n_c)`` per class (1.0 for a class without rows); ``none``: None."""
    if mode == "none":
        return None
    n = len(label_ids)
    counts = [label_ids.count(c) for c in range(n_labels)]
    return [round(n / (n_labels * k), 6) if k else 1.0 for k in counts]


def _trainer_class(label_type: str, weights: list[float] | None) -> Any:
    import torch
    from transformers import Trainer

    class DistillTrainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):  # noqa: ANN001
            inputs = dict(inputs)
            labels = inputs.pop("labels")
            tgt = inputs.pop("targets")
            outputs = model(**inputs)
            w = torch.tensor(weights, dtype=torch.float32, device=outputs.logits.device) if weights else None
            if label_type == "soft":
                loss = soft_cross_entropy(outputs.logits, tgt, w)
            else:
                loss = torch.nn.functional.cross_entropy(outputs.logits.float(), labels, weight=w)
            return (loss, outputs) if return_outputs else loss

    return DistillTrainer


# ------------------------------------------------------------------------- training
def resolve_base_model(name: str) -> Path | str:
    """A registry name / role -> its materialized HF folder; an HF id or folder as it is."""
    from sentidistill.models.registry import UnknownModelError, resolve
    from sentidistill.models.store import model_paths

    p = Path(name)
    if p.is_dir() and (p / "config.json").is_file():
        return p
    try:
        model = resolve(name)
    except UnknownModelError:
        return name
    if not model.registered:
        return name if model.spec.source == "hf" else Path(model.spec.path)  # type: ignore[union-attr]
    return model_paths(model.name).hf_dir


def _fingerprint(data: pl.DataFrame, params: TrainParams, labels: list[str], base: str) -> str:
    h = hashlib.sha256(json.dumps({"p": params.model_dump(), "labels": labels, "base": base}, sort_keys=True).encode())
    for t, lid, pr in zip(data["text"].to_list(), data["label_id"].to_list(), data["soft_probs"].to_list()):
        h.update(json.dumps([t, lid, pr]).encode())
    return h.hexdigest()[:16]


def train_classifier(
    labels_path: Path,
    params: TrainParams,
    label_params: LabelParams,
    *,
    out_dir: Path,
    metrics_path: Path,
    work_dir: Path,
    git_rev: str | None = None,
    live_dir: Path | None = None,
) -> dict[str, Any]:
    """Fine-tune, select the best epoch on the held-out split, save the HF folder + card
    (``live_dir``: the DVCLive log, when ``params.report_to`` has ``dvclive``)."""
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        EarlyStoppingCallback,
        TrainingArguments,
        set_seed,
    )

    from sentidistill.models.safe_load import remote_code_allowed, require_safetensors

    if params.threads:
        torch.set_num_threads(params.threads)
    label_names = list(label_params.labels)
    table = read_parquet(labels_path, labels_schema(label_names))
    data, acct = usable_rows(table, params)
    if params.label_type == "soft" and data.height and data["soft_probs"].null_count() == data.height:
        raise ValueError(
            f"{labels_path}: classifier.train.label_type is 'soft' but no row has the teacher's label "
            "probabilities: set classifier.labels.soft_labels: true and rerun classifier_labels"
        )
    train_df, held_df = split_heldout(data, params.heldout_fraction, params.seed)
    n_labels = len(label_names)
    train_t, fb_train = targets(train_df, n_labels, params.label_type)
    held_t, fb_held = targets(held_df, n_labels, params.label_type)

    base = resolve_base_model(params.base_model)
    log.info(
        "classifier: %d train / %d held-out rows, base %s, %s labels",
        train_df.height,
        held_df.height,
        base,
        params.label_type,
    )
    set_seed(params.seed)
    require_safetensors(base)  # never unpickle weights (a .bin-only folder is refused)
    trust = remote_code_allowed(base)  # off unless the encoder's registry entry turns it on
    tokenizer = AutoTokenizer.from_pretrained(str(base), trust_remote_code=trust)
    id2label = dict(enumerate(label_names))
    model = AutoModelForSequenceClassification.from_pretrained(
        str(base),
        num_labels=n_labels,
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
        trust_remote_code=trust,
        use_safetensors=True,
    )
    model.config.problem_type = "single_label_classification"

    def encode(df: pl.DataFrame) -> tuple[dict[str, list], int]:
        full = tokenizer(df["text"].to_list(), truncation=False)["input_ids"]
        enc = tokenizer(df["text"].to_list(), truncation=True, max_length=params.max_length)
        return dict(enc), sum(len(ids) > params.max_length for ids in full)

    train_enc, trunc_train = encode(train_df)
    held_enc, trunc_held = encode(held_df)
    train_ds = _Rows(train_enc, train_df["label_id"].to_list(), train_t)
    held_ds = _Rows(held_enc, held_df["label_id"].to_list(), held_t) if held_df.height else None

    def compute_metrics(pred: Any) -> dict[str, float]:
        import numpy as np

        logits = pred.predictions[0] if isinstance(pred.predictions, tuple) else pred.predictions
        gold = [label_names[i] for i in np.asarray(pred.label_ids).tolist()]
        guess = [label_names[i] for i in np.asarray(logits).argmax(-1).tolist()]
        s = classification_scores(gold, guess)
        return {"macro_f1": s.macro_f1, "accuracy": s.accuracy}

    run_dir = work_dir / _fingerprint(data, params, label_names, str(base))
    use_eval = held_ds is not None
    report_to, trackers = trainer_reporting(params.report_to, live_dir, resume=False)
    args = TrainingArguments(
        output_dir=str(run_dir),
        num_train_epochs=params.epochs,
        per_device_train_batch_size=params.batch_size,
        per_device_eval_batch_size=params.eval_batch_size,
        learning_rate=params.learning_rate,
        weight_decay=params.weight_decay,
        warmup_steps=params.warmup_ratio,  # a float in [0, 1) is a ratio of the total steps
        lr_scheduler_type=params.lr_scheduler,
        eval_strategy="epoch" if use_eval else "no",
        save_strategy="epoch" if use_eval else "no",
        save_only_model=True,
        save_total_limit=2,
        load_best_model_at_end=use_eval,
        metric_for_best_model=params.best_metric if use_eval else None,
        greater_is_better=params.best_metric != "eval_loss",
        logging_strategy="epoch",
        seed=params.seed,
        data_seed=params.seed,
        use_cpu=not torch.cuda.is_available(),
        remove_unused_columns=False,
        report_to=report_to,
        dataloader_num_workers=0,
        disable_tqdm=False,
    )
    stopping = (
        [EarlyStoppingCallback(params.early_stopping_patience)] if use_eval and params.early_stopping_patience else []
    )
    callbacks = [*trackers, *stopping]
    weights = class_weights(train_df["label_id"].to_list(), n_labels, params.class_weighting)
    trainer = _trainer_class(params.label_type, weights)(
        model=model,
        args=args,
        train_dataset=train_ds,
        eval_dataset=held_ds,
        data_collator=_collator(tokenizer),
        compute_metrics=compute_metrics,
        callbacks=callbacks,
    )
    t0 = time.perf_counter()
    trainer.train()
    train_s = time.perf_counter() - t0
    history = list(trainer.state.log_history)
    final = trainer.evaluate() if use_eval else {}  # the selected (best) epoch's model
    epochs = [
        {
            k: (round(v, 6) if isinstance(v, float) else v)
            for k, v in e.items()
            if k in ("epoch", "loss", "eval_loss", "eval_macro_f1", "eval_accuracy", "learning_rate")
        }
        for e in history
        if "epoch" in e and ("loss" in e or "eval_loss" in e)
    ]

    if git_rev is None:
        git_rev = git_revision()
    summary: dict[str, Any] = {
        "base_model": params.base_model,
        "base_model_path": str(base),
        "teacher": sorted(set(table["engine"].to_list())),
        "labels": label_names,
        "label_type": params.label_type,
        "data": {
            **acct,
            "train": train_df.height,
            "heldout": held_df.height,
            "train_by_label": {lab: int((train_df["label"] == lab).sum()) for lab in label_names},
            "heldout_by_label": {lab: int((held_df["label"] == lab).sum()) for lab in label_names},
            "by_domain": dict(sorted(data.group_by("domain").len().iter_rows())),
            "soft_fallback_one_hot": fb_train + fb_held,
            "class_weights": dict(zip(label_names, weights)) if weights else None,
            "truncated_texts": {"train": trunc_train, "heldout": trunc_held, "max_length": params.max_length},
        },
        "hyperparameters": params.model_dump(),
        "training": {
            "epochs_run": math.ceil(trainer.state.epoch or 0),
            "global_step": trainer.state.global_step,
            "best_epoch": _best_epoch(trainer.state, epochs),
            "best_metric": params.best_metric,
            "early_stopped": bool(stopping) and math.ceil(trainer.state.epoch or 0) < params.epochs,
            "train_seconds": round(train_s, 2),
            "log": epochs,
        },
        "heldout": {
            "n": held_df.height,
            "macro_f1": _r(final.get("eval_macro_f1")),
            "accuracy": _r(final.get("eval_accuracy")),
            "loss": _r(final.get("eval_loss")),
            "note": "agreement with the teacher's labels on the held-out rows (not gold labels)",
        },
        "git_revision": git_rev,
    }
    out_dir = Path(out_dir)
    # built beside out_dir and swapped in whole: a kill or a full disk leaves the previous folder
    with atomic_folder(out_dir) as work:
        trainer.model.save_pretrained(work)
        tokenizer.model_max_length = params.inference_max_length
        tokenizer.save_pretrained(work)
        write_json(work / SUMMARY, summary)
        write_text(work / CARD, model_card(summary))
    shutil.rmtree(run_dir, ignore_errors=True)  # checkpoints: only needed during the run
    write_stats(metrics_path, summary)
    log.info(
        "classifier: best epoch %s, held-out macro-F1 %s (vs teacher labels), %.0fs -> %s",
        summary["training"]["best_epoch"],
        summary["heldout"]["macro_f1"],
        train_s,
        out_dir,
    )
    return summary


def _r(v: Any) -> float | None:
    return round(float(v), 4) if v is not None else None


def _best_epoch(state: Any, epochs: list[dict[str, Any]]) -> float | None:
    ckpt = getattr(state, "best_model_checkpoint", None)
    if not ckpt:
        return None
    step = int(str(ckpt).rsplit("-", 1)[-1])
    steps_per_epoch = state.global_step / state.epoch if state.epoch else None
    return round(step / steps_per_epoch) if steps_per_epoch else None


# ----------------------------------------------------------------------------- card
def model_card(summary: dict[str, Any], sentibench_md: str | None = None, front: str | None = None) -> str:
    """Model card (``README.md``) of the trained encoder; ``sentibench_md`` adds the comparison,
    ``front`` replaces the minimal front matter (the exported folder's hub metadata)."""
    d, h, t, ho = summary["data"], summary["hyperparameters"], summary["training"], summary["heldout"]
    labels = summary["labels"]
    teacher = ", ".join(f"`{x}`" for x in summary["teacher"]) or "unknown"
    hp_rows = "\n".join(f"| {k} | {v} |" for k, v in h.items() if k not in ("threads",))
    bench = sentibench_md or (
        "SentiBench results are added by the `classifier_report` stage to the exported model "
        "(`models/sentidistill-classifier/README.md`) and to `reports/classifier.md`.\n"
    )
    front = (
        front
        or "---\nlibrary_name: transformers\npipeline_tag: text-classification\ntags: [sentiment-analysis, distillation, sentidistill]\n---\n"
    )
    return f"""{front}
# Sentiment classifier distilled from an LLM teacher (sentidistill)

The `{summary["base_model"]}` encoder fine-tuned on labels written by the teacher {teacher}: the
teacher read {d["teacher_rows"]} corpus texts and answered with a one-sentence rationale and a
label in JSON (the `classifier_labels` stage); this model learned its labels
({summary["label_type"]} labels). Labels: {", ".join(f"`{x}`" for x in labels)} (`id2label` in `config.json`).

```python
from transformers import pipeline
clf = pipeline("text-classification", model="<this folder>", top_k=None)
clf("The soup was cold and the waiter rude.")
```

Batch prediction (JSONL/CSV/parquet in, labels + probabilities out):
`python -m sentidistill.classifier.predict --model <this folder> --input texts.jsonl --output preds.jsonl`

## Training data

| | rows |
|---|---|
| texts the teacher labeled | {d["teacher_rows"]} |
| answers that did not parse (excluded) | {sum(d["excluded_parse_failed"].values())} ({", ".join(f"{k}: {v}" for k, v in d["excluded_parse_failed"].items() if v) or "none"}) |
| used | {d["used"]} = {d["train"]} train + {d["heldout"]} held out |

Train labels: {", ".join(f"{k} {v}" for k, v in d["train_by_label"].items())}. Domains: {", ".join(f"{k} {v}" for k, v in d["by_domain"].items())}.
Texts longer than {d["truncated_texts"]["max_length"]} tokens truncated in training: {d["truncated_texts"]["train"]}.

## Training

{t["epochs_run"]} epoch(s) ({t["global_step"]} steps, {t["train_seconds"]} s); best epoch {t["best_epoch"]} by held-out
`{t["best_metric"]}`{" (early stopping)" if t["early_stopped"] else ""}. Hyper-parameters (`classifier.train` in params.yaml):

| parameter | value |
|---|---|
{hp_rows}

Held-out agreement with the teacher's labels ({ho["n"]} rows): macro-F1 {ho["macro_f1"]}, accuracy {ho["accuracy"]}.

## Evaluation

{bench}
## Provenance

- base encoder: `{summary["base_model"]}`
- teacher: {teacher}
- git revision: `{summary["git_revision"]}`
- built by the sentidistill DVC pipeline (`classifier_labels` -> `classifier_train`); see docs/classifier.md
"""
