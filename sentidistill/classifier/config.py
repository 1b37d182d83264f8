"""``classifier:`` in params.yaml, one model per stage group.

* ``classifier.labels`` -- :class:`LabelParams`, stage ``classifier_labels`` (teacher labels);
* ``classifier.train``  -- :class:`TrainParams`, stage ``classifier_train`` (fine-tuning);
* ``classifier.eval``   -- :class:`ClassifierEvalParams`, stage ``classifier_eval`` (SentiBench);
* ``classifier.report`` -- :class:`ReportParams`, stage ``classifier_report``.
"""

from __future__ import annotations

import string
from typing import Literal

from pydantic import Field, field_validator, model_validator

from sentidistill.params import StrictModel
from sentidistill.schemas.sentibench_datasets import DATASETS


def _template_fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


class LabelParams(StrictModel):
    """``classifier.labels``: which texts the teacher labels, with which label set and prompt."""

    labels: list[str] = Field(min_length=2, description="the classifier's label set, in label-id order")
    aliases: dict[str, str] = Field(
        default_factory=dict, description="teacher spelling -> label (matched case-insensitively)"
    )
    label_key: str = Field(default="label", min_length=1, description="JSON key of the label in the answer")
    reason_key: str = Field(default="reason", min_length=1, description="JSON key of the rationale")
    prompt: str = Field(min_length=1, description="user message template; {text} and {labels} are filled in")
    n_texts: int = Field(ge=1, description="texts the teacher labels")
    seed: int = Field(ge=0, description="seed of the text sample (keyed hash of the text id)")
    min_chars: int = Field(ge=1)
    max_chars: int = Field(ge=1)
    domains: list[str] | None = Field(None, description="corpus domains to sample from; null = all")
    soft_labels: bool = Field(description="also keep the teacher's label probabilities (engine next-token logits)")
    method: Literal["cot_json", "score"] = Field(
        "cot_json",
        description="cot_json: the notebook's way, a rationale then the label as JSON, parsed; score: the "
        "teacher's next-token scores over the labels after score_prompt (no decoding, probabilities for free)",
    )
    score_prompt: str = Field(
        "Please perform sentiment classification task. The label should be one of the following: {labels}. "
        "Do not provide any reasoning or explanation and directly output the final answer.\n\nSentence: {text}\nOutput:",
        description="user message of method score ({text}, {labels} as a Python list); it must end where the label starts",
    )

    @field_validator("labels")
    @classmethod
    def _unique_labels(cls, v: list[str]) -> list[str]:
        low = [x.strip().lower() for x in v]
        if any(not x for x in low):
            raise ValueError("labels must be non-empty strings")
        if len(set(low)) != len(low):
            raise ValueError(f"labels must be unique (case-insensitively): {v}")
        return v

    @field_validator("prompt")
    @classmethod
    def _prompt_fields(cls, v: str) -> str:
        try:
            fields = _template_fields(v)
        except ValueError as exc:
            raise ValueError(f"prompt is not a valid format template ({exc}); write literal braces as {{{{ }}}}")
        unknown = fields - {"text", "labels"}
        if "text" not in fields:
            raise ValueError("prompt must contain the {text} placeholder")
        if unknown:
            raise ValueError(f"prompt has unknown placeholders {sorted(unknown)}; allowed: {{text}}, {{labels}}")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> LabelParams:
        if self.min_chars > self.max_chars:
            raise ValueError(f"min_chars ({self.min_chars}) must be <= max_chars ({self.max_chars})")
        known = {x.lower() for x in self.labels}
        bad = {k: v for k, v in self.aliases.items() if v.lower() not in known}
        if bad:
            raise ValueError(f"aliases must map to one of {self.labels}; bad: {bad}")
        return self

    def render(self, text: str) -> str:
        if self.method == "score":
            return self.score_prompt.format(text=text, labels=str(list(self.labels)))
        return self.prompt.format(text=text, labels=", ".join(self.labels))


class TrainParams(StrictModel):
    """``classifier.train``: fine-tuning the encoder on the teacher's labels."""

    base_model: str = Field(
        min_length=1, description="registry name (materialized under models/), HF id or local HF folder"
    )
    label_type: Literal["hard", "soft"] = Field(
        description="hard: cross-entropy on the teacher's label; soft: cross-entropy on its label probabilities"
    )
    class_weighting: Literal["none", "balanced"] = Field(
        "none", description="balanced: weigh each label by n / (n_labels * n_label) in the loss"
    )
    heldout_fraction: float = Field(gt=0, lt=1, description="share of the labeled rows held out for early stopping")
    min_train_rows: int = Field(ge=1, description="fewer usable teacher labels than this is an error")
    seed: int = Field(ge=0)
    max_length: int = Field(ge=8, le=8192, description="tokens per training text (longer texts are truncated)")
    inference_max_length: int = Field(ge=8, le=8192, description="saved as the tokenizer's model_max_length")
    epochs: int = Field(ge=1, description="at most this many epochs (early stopping may end sooner)")
    batch_size: int = Field(ge=1)
    eval_batch_size: int = Field(ge=1)
    learning_rate: float = Field(gt=0)
    weight_decay: float = Field(ge=0)
    warmup_ratio: float = Field(ge=0, lt=1)
    lr_scheduler: Literal["linear", "cosine", "constant", "constant_with_warmup"]
    early_stopping_patience: int = Field(ge=0, description="epochs without improvement before stopping; 0 = off")
    best_metric: Literal["macro_f1", "eval_loss"] = Field(description="held-out metric that picks the best epoch")
    threads: int | None = Field(None, ge=1, description="torch CPU threads; null = all cores")
    report_to: list[str] = Field(
        default_factory=lambda: ["dvclive"],
        description="experiment trackers (TrainingArguments.report_to); dvclive logs to dvclive/classifier/",
    )


DatasetMapping = dict[str, str]


class ClassifierEvalParams(StrictModel):
    """``classifier.eval``: encoders on the SentiBench test splits, with an explicit label mapping."""

    datasets: dict[str, DatasetMapping] = Field(
        min_length=1,
        description="SentiBench dataset -> {classifier label: dataset label}; unmapped classifier labels are ignored",
    )
    batch_size: int = Field(ge=1)
    max_length: int | None = Field(None, ge=8, description="null = the trained tokenizer's model_max_length")
    max_test_examples: int | None = Field(None, ge=1, description="per dataset; null = the full test split")
    subsample_seed: int = Field(0, ge=0, description="seed of the (label-stratified) subsample when capped")
    untrained_seed: int = Field(ge=0, description="seed of the untrained encoder's random classification head")
    threads: int | None = Field(None, ge=1)

    @field_validator("datasets")
    @classmethod
    def _known(cls, v: dict[str, DatasetMapping]) -> dict[str, DatasetMapping]:
        for key, mapping in v.items():
            spec = DATASETS.get(key)
            if spec is None or not spec.is_classification:
                allowed = [k for k, s in DATASETS.items() if s.is_classification]
                raise ValueError(f"{key!r} is not a SentiBench classification dataset; allowed: {allowed}")
            bad = sorted(set(mapping.values()) - set(spec.labels))
            if bad:
                raise ValueError(f"{key}: {bad} are not labels of {key} (its labels: {list(spec.labels)})")
            missing = sorted(set(spec.labels) - set(mapping.values()))
            if missing:
                raise ValueError(f"{key}: no classifier label maps to {missing}; every label of {key} needs one")
        return v


class ReportParams(StrictModel):
    """``classifier.report``: which LLM evaluations the comparison report puts next to the encoders."""

    compare: list[str] = Field(
        description="entries of sentibench.models (their predictions under data/sentibench_eval/)"
    )
    student_name: str = Field(min_length=1, description="name shown for the trained encoder")
