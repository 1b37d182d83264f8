"""The ``training:`` group of params.yaml (Section 2, 4.1-4.4; Appendix C.1 Tables 16-21).

``training.knowdist`` / ``training.icldist`` hold the hyper-parameters of the two stages
(the CPU default for SmolLM2-135M). ``training.profile`` selects a named entry of
``training.profiles`` whose values override them (the paper's per-student settings),
so ``dvc exp run -S training.profile=paper-llama-3.2-1b`` switches without code edits.

``training.mode`` expresses the ablations of Tables 3-4 with the same two DVC stages:

=============  ===========================================  ==========================
mode           stage 1 (``train_knowdist``)               stage 2 (``train_icldist``)
=============  ===========================================  ==========================
two_stage      KnowDist corpus, from the base student       ICLDist corpus, from stage 1
knowdist_only  KnowDist corpus, from the base student       copy of stage 1
icldist_only   copy of the base student                     ICLDist corpus, from stage 1
unified        KnowDist + ICLDist merged, from the base     copy of stage 1
=============  ===========================================  ==========================
"""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import Field, create_model, model_validator

from sentidistill.params import ParamsError, StrictModel, load_params, parse_section
from sentidistill.precision import RequestedPrecision

STAGES = ("knowdist", "icldist")
Stage = Literal["knowdist", "icldist"]
Mode = Literal["two_stage", "knowdist_only", "icldist_only", "unified"]
DEFAULT_PROFILE = "default"


class StageHparams(StrictModel):
    """Hyper-parameters of one SFT stage (names follow transformers.TrainingArguments)."""

    epochs: float = Field(gt=0)
    max_steps: int = Field(default=-1, ge=-1)  # > 0 overrides epochs (smoke runs)
    batch_size: int = Field(ge=1)  # global batch = per_device x grad. accumulation x processes
    per_device_batch_size: int = Field(ge=1)
    learning_rate: float = Field(gt=0, le=1)
    lr_scheduler: Literal["cosine", "linear", "constant", "constant_with_warmup"]
    warmup_ratio: float = Field(ge=0, lt=1)
    weight_decay: float = Field(ge=0)
    adam_beta1: float = Field(gt=0, lt=1)
    adam_beta2: float = Field(gt=0, lt=1)
    adam_epsilon: float = Field(default=1e-8, gt=0)
    max_grad_norm: float = Field(default=1.0, gt=0)
    max_length: int = Field(ge=16)  # tokens of prompt + completion; longer rows are truncated
    # bf16/fp16 = mixed precision (fp32 master weights); auto = bf16 where the machine runs it
    # natively, else fp32 (sentidistill/precision.py)
    precision: RequestedPrecision = "auto"
    gradient_checkpointing: bool = False
    # group_by_length batches rows of similar length (less padding: the CPU default);
    # random = plain shuffling (transformers' default)
    sampling: Literal["random", "group_by_length"] = "random"
    max_rows: Optional[int] = Field(default=None, ge=1)  # null = every kept corpus row
    seed: int = 42
    # weight interpolation with the stage's starting model (WiSE-FT): saved = start + a x (trained -
    # start); 1.0 = the trained weights as they are (the paper). Keeps more of what the start knew
    # on tasks the stage does not train.
    interpolation: float = Field(default=1.0, gt=0, le=1)
    # train with the token embeddings and the LM head frozen (one matrix when tied): the label
    # words a stage never trains keep their output vectors (the paper trains every weight)
    freeze_embeddings: bool = False

    @model_validator(mode="after")
    def _batch_divisible(self) -> "StageHparams":
        if self.batch_size % self.per_device_batch_size:
            raise ValueError(
                f"batch_size {self.batch_size} must be a multiple of per_device_batch_size {self.per_device_batch_size}"
            )
        return self

    def grad_accumulation(self, world_size: int = 1) -> int:
        per_step = self.per_device_batch_size * world_size
        if self.batch_size % per_step:
            raise ParamsError(
                f"training batch_size {self.batch_size} is not a multiple of per_device_batch_size "
                f"{self.per_device_batch_size} x {world_size} processes: change per_device_batch_size"
            )
        return self.batch_size // per_step


# Every field optional: a profile overrides only what it names (unknown keys still fail).
StageOverride = create_model(
    "StageOverride",
    __base__=StrictModel,
    **{name: (Optional[f.annotation], None) for name, f in StageHparams.model_fields.items()},  # type: ignore[valid-type]
)


class Profile(StrictModel):
    description: str = ""
    for_student: Optional[str] = None  # the registry name these values are for (informational)
    knowdist: StageOverride = StageOverride()  # type: ignore[valid-type]
    icldist: StageOverride = StageOverride()  # type: ignore[valid-type]


class TrainingParams(StrictModel):
    profile: str = DEFAULT_PROFILE  # "default" = knowdist/icldist below; else a key of profiles
    mode: Mode = "two_stage"
    base_model: str = "student"  # registry name or role (models.student)
    chat_template: bool = True  # user turn in the student's chat template (False: plain text prompt)
    # ICLDist sentiment/emotion rows: the loss also covers each demonstration's label, not only the
    # answer (a k-shot prompt carries k+1 targets for the same tokens). Only sound when the demo
    # labels are the teacher's (they are: icldist_demo_labels); the paper trains on the answer only.
    demo_label_loss: bool = False
    save_dtype: Literal["float32", "bfloat16"] = "float32"
    logging_steps: int = Field(default=1, ge=1)
    # experiment trackers, as TrainingArguments.report_to: dvclive (dvclive/<stage>/, dvc plots and
    # dvc exp show while training), tensorboard, mlflow, wandb, ...; [] = none
    report_to: list[str] = Field(default_factory=lambda: ["dvclive"])
    save_steps: int = Field(default=10, ge=1)  # checkpoint every N optimizer steps (resume)
    save_total_limit: int = Field(default=2, ge=1)
    # Checkpoints are resume points: a finished run deletes them (a 135M student's
    # checkpoint with its Adam state is 1.6 GB); True keeps them, e.g. to inspect.
    keep_checkpoints: bool = False
    knowdist: StageHparams
    icldist: StageHparams
    profiles: dict[str, Profile] = {}

    @model_validator(mode="after")
    def _profile_known(self) -> "TrainingParams":
        if self.profile != DEFAULT_PROFILE and self.profile not in self.profiles:
            raise ValueError(
                f"profile {self.profile!r} unknown; allowed: {DEFAULT_PROFILE!r} or one of {sorted(self.profiles)}"
            )
        for name in self.profiles:  # every profile must produce valid stage settings
            for stage in STAGES:
                self._merged(name, stage)
        return self

    def _merged(self, profile: str, stage: Stage) -> StageHparams:
        base = getattr(self, stage).model_dump()
        if profile != DEFAULT_PROFILE:
            override = getattr(self.profiles[profile], stage).model_dump(exclude_none=True)
            base.update(override)
        return parse_section(f"training.profiles.{profile}.{stage}", base, StageHparams)

    def stage(self, stage: Stage) -> StageHparams:
        """Effective hyper-parameters of ``stage`` under the selected profile."""
        return self._merged(self.profile, stage)

    def effective_base_model(self) -> str:
        return self.base_model

    def trains(self, stage: Stage) -> bool:
        """False when ``stage`` is a pass-through copy under ``mode``."""
        if stage == "knowdist":
            return self.mode != "icldist_only"
        return self.mode in ("two_stage", "icldist_only")

    def corpora(self, stage: Stage) -> tuple[str, ...]:
        if stage == "knowdist":
            return ("knowdist", "icldist") if self.mode == "unified" else ("knowdist",)
        return ("icldist",)


def load_training_params(params: dict[str, Any] | None = None) -> TrainingParams:
    data = (params if params is not None else load_params()).get("training")
    if data is None:
        raise ParamsError("params.yaml: missing group 'training'")
    return parse_section("training", data, TrainingParams)
