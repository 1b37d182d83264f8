"""KnowDist as a teacher task: free-text answers, the teacher's flags as the only policy."""

import polars as pl
import pytest

from sentidistill.knowdist.task import KnowDistTask
from sentidistill.params import ParamsError, parse_section
from sentidistill.teacher.config import PolicyParams


def test_policy_excludes_flagged_rows_and_nothing_else():
    task = KnowDistTask(["empty"])
    answered = pl.DataFrame({"response": ["ok", "", "cut", ""], "flag": [None, "empty", "truncated", "teacher_error"]})
    table, parse_stats = task.format_output(answered)
    assert parse_stats == {} and table.equals(answered) and task.own_answers(answered) is None
    out, st = task.policy(table)
    assert out["exclude_reason"].to_list() == [None, "empty", None, "teacher_error"]
    assert st == {"policy": ["empty"], "kept": 2, "excluded": {"teacher_error": 1, "empty": 1}}


def test_label_balance_and_parse_failed_are_refused_where_answers_have_no_labels():
    with pytest.raises(ParamsError, match="knowdist.policy.max_label_share"):  # params.yaml is checked up front
        parse_section("knowdist.policy", {"exclude": ["empty"], "max_label_share": 0.5}, PolicyParams)
    with pytest.raises(ParamsError, match="knowdist.policy.exclude"):
        parse_section("knowdist.policy", {"exclude": ["parse_failed"]}, PolicyParams)
    with pytest.raises(ValueError, match="unknown exclusion"):  # before any teacher work
        KnowDistTask(["parse_failed"])
