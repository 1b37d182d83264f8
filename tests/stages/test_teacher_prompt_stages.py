"""Stages `knowdist_prompts` and `icldist_prompts` with the real params.yaml groups on a
synthetic pool (the real pools are DVC outputs of the corpus stages)."""

from __future__ import annotations

import json

import polars as pl

from sentidistill.io import read_parquet, write_parquet
from sentidistill.params import load_params
from sentidistill.paths import RAW_NATINST
from sentidistill.schemas.corpus import POOL, content_id
from sentidistill.schemas.teacher import DEMO_LABELS, ICLDIST_PROMPTS, KNOWDIST_PROMPTS
from sentidistill.stages import icldist_prompts, knowdist_prompts

WORDS = "good bad food movie service phone awful great slow fast plot price screen".split()


def _pool(path, n, pool):
    texts = [" ".join(WORDS[(i * 5 + j) % len(WORDS)] for j in range(5 + i % 7)) + f" no. {i}" for i in range(n)]
    df = pl.DataFrame(
        {
            "row": list(range(n)),
            "id": [content_id(t) for t in texts],
            "domain": ["yelp", "imdb", "amazon", "twitter"] * (n // 4),
            "source": ["s"] * n,
            "origin": ["o"] * n,
            "file": ["f.jsonl"] * n,
            "line": list(range(1, n + 1)),
            "text": texts,
            "normalized": texts,
            "pool": [pool] * n,
            "pool_rank": list(range(n)),
        }
    )
    return write_parquet(df, path, POOL)


def test_knowdist_prompts_stage(tmp_path):
    _pool(tmp_path / "pool.parquet", 200, "knowdist")
    stats = knowdist_prompts.main(
        [
            "--pool",
            str(tmp_path / "pool.parquet"),
            "--out",
            str(tmp_path / "p.parquet"),
            "--metrics",
            str(tmp_path / "m.json"),
        ]
    )
    df = read_parquet(tmp_path / "p.parquet", KNOWDIST_PROMPTS)
    assert df.height == stats["prompts"] and json.loads((tmp_path / "m.json").read_text())["prompts"] == df.height
    assert stats["pool_texts"] == stats["skipped_too_long"] + stats["not_selected"] + stats["texts"]


def test_icldist_prompts_stage(tmp_path):
    pool = _pool(tmp_path / "pool.parquet", 200, "icldist")
    demo = pool.head(20)
    rows = []
    for r in demo.iter_rows(named=True):
        for task, label_set, labels in [
            ("sentiment", "basic", ["positive"]),
            ("emotion", "ekman7", ["happiness"]),
            ("emotion", "goemotions28", ["joy", "love"]),
        ]:
            rows.append(
                {
                    "prompt_id": content_id(r["id"] + label_set),
                    "text_id": r["id"],
                    "domain": r["domain"],
                    "text": r["normalized"],
                    "task": task,
                    "label_set": label_set,
                    "response": str(labels),
                    "finish_reason": "stop",
                    "labels": labels,
                    "parse_error": None,
                    "label_logprobs": None,
                }
            )
    schema = {c: pl.Utf8 for c in DEMO_LABELS.columns} | {
        "labels": pl.List(pl.Utf8),
        "label_logprobs": pl.List(pl.Float64),
    }
    write_parquet(pl.DataFrame(rows, schema=schema), tmp_path / "d.parquet", DEMO_LABELS)
    stats = icldist_prompts.main(
        [
            "--pool",
            str(tmp_path / "pool.parquet"),
            "--demo-labels",
            str(tmp_path / "d.parquet"),
            "--natinst",
            str(RAW_NATINST),
            "--out",
            str(tmp_path / "p.parquet"),
            "--metrics",
            str(tmp_path / "m.json"),
        ]
    )
    df = read_parquet(tmp_path / "p.parquet", ICLDIST_PROMPTS)
    assert df.height == stats["prompts"]
    assert stats["by_task"]["natinst"] == round(df.height * 0.2)
    icl = df.filter(pl.col("task") != "natinst")
    if load_params()["icldist"]["prompts"]["answer_source"] == "demo_labels":  # recombined: queries are demo texts
        assert set(icl["text_id"]) <= set(demo["id"]) and set(icl["answer_source"]) == {"demo_labels"}
    else:
        assert not set(icl["text_id"]) & set(demo["id"])
