"""KnowDist as a teacher task (``teacher_generate@knowdist``): the teacher's analyses and
rewrites are the training targets as they are -- nothing to parse, nothing answered
without the teacher; the policy excludes the teacher's flagged rows
(:class:`sentidistill.teacher.config.PolicyParams`, ``knowdist.policy``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import pandera.polars as pa
import polars as pl

from sentidistill.schemas.teacher import KNOWDIST_CORPUS, KNOWDIST_PROMPTS
from sentidistill.teacher.policy import apply_exclusions, check_exclude


@dataclass(frozen=True)
class KnowDistTask:
    """:class:`sentidistill.teacher.task.TeacherTask` of the KnowDist corpus."""

    name: ClassVar[str] = "knowdist"
    prompt_schema: ClassVar[pa.DataFrameSchema] = KNOWDIST_PROMPTS
    corpus_schema: ClassVar[pa.DataFrameSchema] = KNOWDIST_CORPUS

    exclude: Sequence[str]

    def __post_init__(self) -> None:
        check_exclude(self.exclude)  # before any teacher work

    def format_input(self, prompts: pl.DataFrame) -> pl.DataFrame:
        return prompts  # the prompt table is the request table

    def own_answers(self, requests: pl.DataFrame) -> pl.DataFrame | None:
        return None  # the teacher answers every row

    def format_output(self, answered: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, Any]]:
        return answered, {}  # free text: nothing to parse

    def policy(self, table: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, Any]]:
        return apply_exclusions(table, self.exclude)
