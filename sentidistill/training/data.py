"""Teacher corpora -> TRL prompt-completion records (Section 2: SFT on the teacher's text).

Conversational format (``chat_template: true``): ``prompt`` is the user turn, ``completion``
the assistant turn; TRL renders both with the student's chat template and puts the loss
on the completion tokens only (``completion_only_loss``), the closing ``<|im_end|>``
(the eos) included. Plain format: the user message as text, the answer after it.

Accounting per corpus: ``rows = kept + excluded (policy reason) + removed (max_rows)``.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Sequence

import polars as pl

from sentidistill.io import read_parquet
from sentidistill.paths import DATA

CORPUS_PATHS = {
    "knowdist": DATA / "knowdist" / "knowdist_corpus.parquet",
    "icldist": DATA / "icldist" / "icldist_corpus.parquet",
}
PROMPT_COL = "user_message"
RESPONSE_COL = "response"


def _schema(corpus: str) -> Any:
    from sentidistill.schemas.teacher import ICLDIST_CORPUS, KNOWDIST_CORPUS

    return {"knowdist": KNOWDIST_CORPUS, "icldist": ICLDIST_CORPUS}[corpus]


#: A demonstration's label inside an ICLDist prompt (``Output: {label}`` lines, Tables 11-12).
DEMO_LABEL = re.compile(r"\nOutput: ([^\n]+)\n")
DEMO_LOSS_TASKS = ("sentiment", "emotion")


def demo_label_spans(user_message: str) -> list[list[int]]:
    """Character spans ``[start, end)`` of each demonstration label, its leading space
    included (the token the student predicts after ``Output:``)."""
    return [[m.start(1) - 1, m.end(1)] for m in DEMO_LABEL.finditer(user_message)]


def to_record(user_message: str, response: str, *, chat_template: bool) -> dict[str, Any]:
    if chat_template:
        return {
            "prompt": [{"role": "user", "content": user_message}],
            "completion": [{"role": "assistant", "content": response}],
        }
    sep = "" if user_message.endswith((" ", "\n")) else " "
    return {"prompt": user_message, "completion": sep + response}


def load_records(
    corpora: Sequence[str],
    *,
    chat_template: bool,
    max_rows: int | None,
    seed: int,
    paths: dict[str, Path] | None = None,
    validate: bool = True,
    demo_label_loss: bool = False,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Kept rows of each corpus (policy ``keep``), subsampled to ``max_rows`` in total
    (seeded, proportional to each corpus' kept rows); returns records + accounting."""
    paths = paths or CORPUS_PATHS
    frames: list[pl.DataFrame] = []
    stats: dict[str, Any] = {"corpora": {}}
    for corpus in corpora:
        path = Path(paths[corpus])
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} not found: run `dvc repro teacher_generate@{corpus}` "
                f"(or `python -m sentidistill.stages.teacher_generate {corpus}`) first"
            )
        df = read_parquet(path, _schema(corpus) if validate else None)
        excluded = (
            df.filter(~pl.col("keep")).group_by("exclude_reason").len().sort("exclude_reason").rows()
            if df.height
            else []
        )
        task = pl.col("task") if "task" in df.columns else pl.lit(None, dtype=pl.Utf8).alias("task")
        kept = (
            df.filter(pl.col("keep"))
            .select(PROMPT_COL, RESPONSE_COL, task)
            .with_columns(pl.lit(corpus).alias("corpus"))
        )
        stats["corpora"][corpus] = {
            "rows": df.height,
            "kept": kept.height,
            "excluded": {str(r): int(n) for r, n in excluded},
        }
        frames.append(kept)
    data = pl.concat(frames) if frames else pl.DataFrame()
    total = data.height
    if max_rows is not None and total > max_rows:
        data = data.sample(n=max_rows, seed=seed, shuffle=True)
    used = data.group_by("corpus").len().rows() if data.height else []
    used_map = {c: int(n) for c, n in used}
    for corpus, s in stats["corpora"].items():
        s["used"] = used_map.get(corpus, 0)
        s["removed"] = {"max_rows": s["kept"] - s["used"]}
        if s["rows"] != s["used"] + sum(s["excluded"].values()) + s["removed"]["max_rows"]:
            raise AssertionError(f"training rows of {corpus} do not add up: {s}")
    stats["rows_used"] = data.height
    records = (
        [
            to_record(p, r, chat_template=chat_template)
            for p, r in zip(data[PROMPT_COL].to_list(), data[RESPONSE_COL].to_list())
        ]
        if data.height
        else []
    )
    if demo_label_loss and data.height:
        n_spans = 0
        for rec, msg, task in zip(records, data[PROMPT_COL].to_list(), data["task"].to_list()):
            rec["label_spans"] = demo_label_spans(msg) if task in DEMO_LOSS_TASKS else []
            n_spans += len(rec["label_spans"])
        stats["demo_label_targets"] = n_spans
    stats["data_sha256"] = hashlib.sha256(json.dumps(records, sort_keys=True).encode("utf-8")).hexdigest()
    return records, stats
