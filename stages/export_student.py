"""DVC stage ``export_student``: the final student + SentiBench table in its model card.

Copies ``models/student-icldist`` to ``models/sentidistill-student/{hf/, manifest.json}``;
``hf/README.md`` gets the comparison of every ``sentibench.models`` entry (deltas vs
``sentibench.report.baseline``) from ``metrics/sentibench/<entry>.json``.
"""

from __future__ import annotations

from sentidistill import paths
from sentidistill.log import get_logger
from sentidistill.params import load_params
from sentidistill.training.export import export_student, load_results

log = get_logger(__name__)

SOURCE = paths.MODELS / "student-icldist"
TARGET = paths.MODELS / "sentidistill-student"


def main() -> None:
    bench = load_params().get("sentibench") or {}
    entries = list((bench.get("models") or {}).keys())
    baseline = (bench.get("report") or {}).get("baseline")
    if not (SOURCE / "manifest.json").is_file():
        raise FileNotFoundError(f"{SOURCE} not found: run `dvc repro train_icldist` first")
    results = load_results(paths.METRICS / "sentibench", entries)
    manifest = export_student(SOURCE, TARGET, results, baseline)
    log.info("exported %s with SentiBench results of %s", TARGET, sorted(manifest["sentibench"]))


if __name__ == "__main__":
    main()
