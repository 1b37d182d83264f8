"""Child process of the training kill tests: `run_stage("knowdist")` on the tiny random Llama
with a checkpoint after every step (failpoints from SENTIDISTILL_FAILPOINT, sentidistill.faults).

    python -m tests.sentidistill.training.train_child WORKDIR MODEL_NAME
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

from sentidistill.params import load_params
from sentidistill.training.config import load_training_params
from sentidistill.training.run import run_stage


def config(base_model: str):
    data = copy.deepcopy(load_params()["training"])
    data.update(profile="default", mode="two_stage", base_model=base_model, save_steps=1, save_total_limit=3)
    for stage in ("knowdist", "icldist"):
        data[stage].update(
            epochs=1,
            batch_size=1,
            per_device_batch_size=1,
            precision="fp32",
            max_length=256,
            warmup_ratio=0.0,
            max_rows=None,
        )
    return load_training_params({"training": data})


def main(workdir: str, model: str) -> None:
    work = Path(workdir)
    corpora = {"knowdist": work / "knowdist_corpus.parquet", "icldist": work / "icldist_corpus.parquet"}
    run_stage(
        "knowdist",
        config(model),
        corpus_paths=corpora,
        models_dir=work / "models",
        cache_dir=work / "cache",
        plots_dir=work / "plots",
        metrics_dir=work / "metrics",
    )


if __name__ == "__main__":
    main(*sys.argv[1:3])
