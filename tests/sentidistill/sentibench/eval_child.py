"""Child process of the SentiBench kill test: SST-2 with the tiny SmolLM2 engine, 4 examples
per engine call, checkpointed under WORKDIR/ckpt; the rows each call scored are appended to
WORKDIR/scored.log (so the test counts how often each example reached the engine).

    python -m tests.sentidistill.sentibench.eval_child WORKDIR
"""

from __future__ import annotations

import sys
from pathlib import Path

from sentidistill.engines import EngineConfig, load_engine
from sentidistill.models.store import model_paths
from sentidistill.paths import RAW_SENTIBENCH
from sentidistill.schemas.sentibench_datasets import DATASETS, get_spec
from sentidistill.sentibench import evaluate
from sentidistill.sentibench.ingest import ingest_dataset
from tests.conftest import TINY_MODEL
from tests.sentidistill.sentibench.conftest import TEST_INGEST

DATASET = "sst2"
PARAMS = evaluate.EvalParams(datasets=[DATASET], max_test_examples=16, seeds=[0], chunk_size=4)


def main(workdir: str) -> None:
    work = Path(workdir)
    score_rows = evaluate._score_rows

    def logged(engine, spec, seed, rows, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        out = score_rows(engine, spec, seed, rows, *args, **kwargs)
        with open(work / "scored.log", "a") as fh:
            fh.write("".join(f"{r['example_id']}\n" for r in rows))
        return out

    evaluate._score_rows = logged
    engine = load_engine(model_paths(TINY_MODEL).hf_dir, EngineConfig(backend="transformers", dtype="float32"))
    frame = ingest_dataset(DATASETS[DATASET], RAW_SENTIBENCH, TEST_INGEST)
    test, pool = evaluate.select_tests({DATASET: frame}, PARAMS)[DATASET]
    preds = evaluate.evaluate_dataset_seed(
        engine, get_spec(DATASET), test, pool, 0, PARAMS, checkpoint_dir=work / "ckpt"
    )
    preds.write_parquet(work / "preds.parquet")


if __name__ == "__main__":
    main(sys.argv[1])
