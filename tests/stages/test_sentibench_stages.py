"""The SentiBench stages are thin: they read typed params and call sentidistill.sentibench."""

import pytest
import yaml

from sentidistill.params import ParamsError
from sentidistill.sentibench.run import load_entries, resolve_entry
from sentidistill.stages import sentibench_eval


def _params(tmp_path, models, eval_=None, name="params.yaml"):
    path = tmp_path / name  # params files are read once per path
    path.write_text(yaml.safe_dump({"sentibench": {"models": models, "eval": eval_ or {}}}), encoding="utf-8")
    return path


def test_resolve_entry_merges_the_entry_eval_over_the_shared_eval(tmp_path):
    path = _params(
        tmp_path,
        {"a": {"model": "student"}, "b": {"model": "teacher", "eval": {"shots": 1}}},
        {"shots": 4, "seeds": [0]},
    )
    assert list(load_entries(path)) == ["a", "b"]
    a, model_a = resolve_entry("a", path)
    b, _ = resolve_entry("b", path)
    assert (a.shots, b.shots, a.seeds, b.seeds) == (4, 1, [0], [0])
    assert model_a.model == "student"


def test_a_bad_entry_names_its_key_path(tmp_path):
    path = _params(tmp_path, {"a": {"model": "student", "engnie": {}}})
    with pytest.raises(ParamsError, match=r"sentibench\.models.*a\.engnie"):
        load_entries(path)
    with pytest.raises(ParamsError, match=r"no entry 'zz'; entries: \['a'\]"):
        resolve_entry("zz", _params(tmp_path, {"a": {"model": "student"}}, name="good.yaml"))


def test_the_stage_rejects_an_unknown_entry_before_loading_anything():
    with pytest.raises(ParamsError, match="no entry 'no-such-entry'"):
        sentibench_eval.main(["no-such-entry"])
