"""Where artifacts live. Stages take these as defaults; tests pass temporary dirs."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARAMS_FILE = ROOT / "params.yaml"

DATA = ROOT / "data"
RAW = DATA / "raw"
RAW_SENTIBENCH = RAW / "sentibench"
RAW_UNLABELED = RAW / "unlabeled"
RAW_NATINST = RAW / "natinst"

SENTIBENCH_DATA = DATA / "sentibench"
CORPUS_DATA = DATA / "corpus"
MODELS = ROOT / "models"
REPORTS = ROOT / "reports"
METRICS = ROOT / "metrics"  # headline numbers (sentidistill.headline), what dvc exp show shows
STATS = ROOT / "stats"
DVCLIVE = ROOT / "dvclive"  # DVCLive training logs, dvclive/<stage>/  # each stage's whole statistics dump


def require_pulled(path: Path, what: str) -> Path:
    """Fail with the command that fixes it when DVC-tracked raw data is absent."""
    if not path.exists() or (path.is_dir() and not any(path.iterdir())):
        raise FileNotFoundError(
            f"{what} not found at {path}. The raw data comes from the DVC remote: run "
            f"`dvc pull {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}` "
            "(or `make repro`, which pulls it). If the pull fails, check `dvc remote list`: "
            "the default remote 'shared' should point at ../shared/dvc-remote or your S3 bucket."
        )
    return path
