"""DVC stage ``export_datasets``: the KnowDist/ICLDist corpora and the classifier labels as one
Hugging Face dataset folder with a dataset card (``data/export/sentidistill-corpora/``;
``datasets.load_dataset(folder, "icldist")``). See :mod:`sentidistill.corpora_export`.
"""

from __future__ import annotations

from sentidistill import paths
from sentidistill.corpora_export import DatasetExportParams, export_corpora
from sentidistill.log import get_logger
from sentidistill.models.registry import load_models_config
from sentidistill.params import load_section
from sentidistill.provenance import code_revision
from sentidistill.schemas.classifier import labels_schema
from sentidistill.schemas.teacher import ICLDIST_CORPUS, KNOWDIST_CORPUS

log = get_logger(__name__)

SOURCES = {
    "knowdist": paths.DATA / "knowdist" / "knowdist_corpus.parquet",
    "icldist": paths.DATA / "icldist" / "icldist_corpus.parquet",
    "classifier_labels": paths.DATA / "classifier" / "teacher_labels.parquet",
}
SCHEMAS = {"knowdist": KNOWDIST_CORPUS, "icldist": ICLDIST_CORPUS, "classifier_labels": labels_schema()}


def main() -> None:
    params = load_section("export.datasets", DatasetExportParams)
    out = paths.DATA / "export" / params.name
    rows = export_corpora(
        SOURCES,
        out,
        params,
        teacher=load_models_config().teacher,
        stats_dir=paths.STATS,
        git_revision=code_revision(paths.ROOT)["git_revision"],
        schemas=SCHEMAS,
    )
    log.info("exported %s: %s", out, ", ".join(f"{k} {v} rows" for k, v in rows.items()))


if __name__ == "__main__":
    main()
