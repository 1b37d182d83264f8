"""DVC stages ``train_knowdist`` and ``train_icldist``: SFT of the student (one module, the stage as argument).

``python -m sentidistill.stages.train_student knowdist`` then ``... icldist``. Writes
``models/student-<stage>/{hf/, manifest.json}``, ``stats/training/<stage>.json`` (headline: ``metrics/training/<stage>.json``) and
``plots/training/<stage>.{png,svg}`` and the DVCLive log ``dvclive/<stage>/`` (``training.report_to``). See sentidistill/training/config.py for the
modes (two_stage, knowdist_only, icldist_only, unified) and docs/training.md.
"""

from __future__ import annotations

import argparse

from sentidistill.log import get_logger
from sentidistill.models.registry import load_models_config
from sentidistill.params import load_section
from sentidistill.training.config import STAGES, TrainingParams
from sentidistill.training.run import LIVE_DIR, run_stage

log = get_logger(__name__)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("stage", choices=STAGES)
    args = ap.parse_args()
    cfg = load_section("training", TrainingParams)
    teacher = load_models_config().teacher  # the registry name of the teacher role, recorded in the manifest
    metrics = run_stage(args.stage, cfg, teacher=teacher, live_dir=LIVE_DIR / args.stage)
    log.info(
        "%s done: %s", args.stage, {k: metrics.get(k) for k in ("trained", "global_step", "train_loss", "wall_seconds")}
    )


if __name__ == "__main__":
    main()
