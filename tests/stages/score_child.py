"""Child process of the label-scoring kill test: the teacher's label scores (the default way
of ICLDist demo labels and classifier labels) for N short texts with the tiny SmolLM2 teacher.

    python -m tests.stages.score_child WORKDIR N
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

from sentidistill.teacher.resolve import resolve_teacher
from sentidistill.teacher.scoring import score_table
from tests.stages.teacher_child import WORDS, tiny_teacher

CANDIDATES = ["positive", "negative", "neutral"]


def main(workdir: str, n: str) -> None:
    work = Path(workdir)
    texts = [" ".join(WORDS[(i * 5 + j) % len(WORDS)] for j in range(5 + i % 4)) + f" #{i}" for i in range(int(n))]
    reqs = pl.DataFrame(
        {
            "prompt_id": [f"{i:016x}" for i in range(len(texts))],
            "user_message": [
                f"Classify the sentiment (positive, negative, neutral).\nText: {t}\nLabel:" for t in texts
            ],
            "candidates": [CANDIDATES] * len(texts),
        }
    )
    out, _ = score_table(
        reqs, resolve_teacher(tiny_teacher("local", shard_rows=2)), "classifier_labels", work / "cache"
    )
    out.select("prompt_id", "key", "scores").write_parquet(work / "scores.parquet")


if __name__ == "__main__":
    main(*sys.argv[1:3])
