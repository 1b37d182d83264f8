"""The generic runner of a teacher corpus: any task of the TeacherTask shape plugs in (here a
toy task defined in the test, which teacher/ knows nothing of)."""

import json
from dataclasses import dataclass
from typing import ClassVar

import pandera.polars as pa
import polars as pl
import pytest

from sentidistill.io import write_parquet
from sentidistill.schemas.teacher import KNOWDIST_PROMPTS
from sentidistill.teacher.generate import TeacherRowsFailed
from sentidistill.teacher.policy import apply_exclusions
from sentidistill.teacher.resolve import resolve_teacher
from sentidistill.teacher.task import run_task
from tests.sentidistill.teacher.conftest import IDENTITY, teacher_params

WORD_CORPUS = pa.DataFrameSchema(
    {
        "prompt_id": pa.Column(pl.Utf8),
        "response": pa.Column(pl.Utf8),
        "n_words": pa.Column(pl.Int64),
        "keep": pa.Column(pl.Boolean),
        "exclude_reason": pa.Column(pl.Utf8, nullable=True),
    },
    strict=True,
    ordered=True,
)


@dataclass(frozen=True)
class WordCountTask:
    """A new kind of teacher work: the answer's word count; answers that echo the instruction leave as "echo"."""

    name: ClassVar[str] = "knowdist"  # the sampling entry the fixture teacher has
    prompt_schema: ClassVar[pa.DataFrameSchema] = KNOWDIST_PROMPTS
    corpus_schema: ClassVar[pa.DataFrameSchema] = WORD_CORPUS

    def format_input(self, prompts):
        return prompts.with_columns(pl.concat_str(pl.lit("Count: "), "user_message").alias("user_message"))

    def own_answers(self, requests):
        return None

    def format_output(self, answered):
        table = answered.with_columns(pl.col("response").str.split(" ").list.len().cast(pl.Int64).alias("n_words"))
        return table, {"words": int(table["n_words"].sum())}

    def policy(self, table):
        return apply_exclusions(table, ["empty", "echo"], {"echo": pl.col("response").str.contains("Count:")})


def _prompts(path, n=4):
    df = pl.DataFrame(
        {
            "prompt_id": [f"{i:016x}" for i in range(n)],
            "text_id": [f"t{i}" for i in range(n)],
            "domain": ["yelp"] * n,
            "method": ["analyzing"] * n,
            "perspective": ["BASIC"] * n,
            "user_message": [" ".join(["w"] * i) + f" text {i}" for i in range(n)],
        }
    )
    return write_parquet(df, path, KNOWDIST_PROMPTS)


def test_a_new_task_plugs_into_run_task(echo_engine, tmp_path):
    _prompts(tmp_path / "p.parquet")
    teacher = resolve_teacher(teacher_params(), identity=IDENTITY, templater=False)
    st = run_task(
        WordCountTask(), teacher, tmp_path / "p.parquet", tmp_path / "out", tmp_path / "cache", tmp_path / "stats.json"
    )
    assert all(m.startswith("Count: ") for m in echo_engine.calls)  # format_input shaped the requests
    out = pl.read_parquet(tmp_path / "out" / "knowdist_corpus.parquet")
    assert out.columns == list(WORD_CORPUS.columns) and out["n_words"].to_list() == [3, 3, 3, 3]
    assert out["exclude_reason"].to_list() == ["echo", None, None, None]  # "Count: text 0" echoes the instruction
    assert list(st)[:3] == ["corpus", "rows", "teacher_rows"] and st["words"] == 12 and st["kept"] == 3
    assert json.loads((tmp_path / "stats.json").read_text())["excluded"] == {"teacher_error": 0, "empty": 0, "echo": 1}
    hits = pl.read_parquet(tmp_path / "out" / "knowdist_cache_hits.parquet")
    assert hits.columns == ["prompt_id", "key", "cache_hit"] and not hits["cache_hit"].any()
    again = run_task(
        WordCountTask(), teacher, tmp_path / "p.parquet", tmp_path / "out", tmp_path / "cache", tmp_path / "stats.json"
    )
    assert again["cache_hits"] == 4 and again["generated"] == 0


def test_failed_rows_write_only_the_stats(echo_engine, tmp_path):
    _prompts(tmp_path / "p.parquet")
    echo_engine.failing = {"2"}
    teacher = resolve_teacher(teacher_params(), identity=IDENTITY, templater=False)
    with pytest.raises(TeacherRowsFailed):
        run_task(
            WordCountTask(),
            teacher,
            tmp_path / "p.parquet",
            tmp_path / "out",
            tmp_path / "cache",
            tmp_path / "stats.json",
        )
    st = json.loads((tmp_path / "stats.json").read_text())
    assert st["corpus"] == "knowdist" and st["status"] == "failed"
    assert st["failed_rows"]["count"] == 1 and not (tmp_path / "out" / "knowdist_corpus.parquet").exists()
