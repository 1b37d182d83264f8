"""Experiment tracking for the Hugging Face trainers (LLM SFT and the classifier).

``report_to`` is a parameter, as in ``transformers.TrainingArguments``: ``dvclive`` (the
default) logs every training step to ``dvclive/<stage>/`` through transformers' own
``DVCLiveCallback`` -- so ``dvc plots show``, ``dvc exp show`` during a run and the VS Code
extension see the loss as it is logged -- and any other integration transformers knows
(``tensorboard``, ``mlflow``, ``wandb``, ...) is passed to the trainer as it is. The Live
instance is made here, not by the callback: its folder is the stage's, it writes no
``dvc.yaml`` of its own (the project's ``dvc.yaml`` declares its plots) and it does not save a
DVC experiment from inside ``dvc repro``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

DVCLIVE = "dvclive"
DVCLIVE_DIR = "dvclive"


def trainer_reporting(report_to: list[str], live_dir: Path | None, *, resume: bool) -> tuple[list[str], list[Any]]:
    """(``TrainingArguments.report_to``, extra callbacks) for ``report_to``.

    ``dvclive`` becomes a ``DVCLiveCallback`` writing to ``live_dir`` (``resume``: a resumed
    run continues the step count of the interrupted one instead of starting a new log)."""
    others = [r for r in report_to if r != DVCLIVE]
    if DVCLIVE not in report_to or live_dir is None:
        return others or ["none"], []
    from dvclive import Live
    from transformers.integrations import DVCLiveCallback

    live = Live(dir=str(live_dir), resume=resume, report=None, save_dvc_exp=False, dvcyaml=None)
    return others or ["none"], [DVCLiveCallback(live=live, log_model=False)]
