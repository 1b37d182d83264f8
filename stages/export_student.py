"""DVC stage ``export_student``: the final student as a hub-style model folder + GGUF files.

``models/student-icldist`` -> ``models/sentidistill-student/`` (transformers files at the top,
model card with the SentiBench results of every ``sentibench.models`` entry, ``gguf/`` with
the llama.cpp/Ollama files); see :mod:`sentidistill.training.export`. Any other student:
``sentidistill export --model models/student-knowdist``.
"""

from __future__ import annotations

from sentidistill import paths
from sentidistill.log import get_logger
from sentidistill.training.export import ExportConfig, export_evaluated

log = get_logger(__name__)

SOURCE = paths.MODELS / "student-icldist"
TARGET = paths.MODELS / "sentidistill-student"
RESULTS = paths.STATS / "sentibench"  # sentibench_eval's stats/sentibench/<entry>.json, sentibench_compare's comparison


def main() -> None:
    config = ExportConfig.load()
    manifest = export_evaluated(SOURCE, TARGET, config, stats_dir=RESULTS, models_dir=paths.MODELS)
    gguf = manifest.get("gguf_export") or {}
    log.info(
        "exported %s (GGUF: %s) with SentiBench results of %s",
        TARGET,
        ", ".join(gguf.get("files", {})) or "off",
        sorted(manifest["sentibench"]),
    )


if __name__ == "__main__":
    main()
