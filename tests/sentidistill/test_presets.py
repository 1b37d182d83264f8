"""Preset mechanism: deep-merge rules, round-trip apply keeps comments, every preset validates."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sentidistill import presets
from sentidistill.paths import PARAMS_FILE
from sentidistill.presets import PresetError, apply_text, deep_merge, discover_sections, expand


def test_deep_merge_rules():
    base = {"a": {"x": 1, "y": [1, 2], "m": {"k": 1, "j": 2}}, "b": 3}
    over = {"a": {"y": [9], "m": {"_replace": True, "z": 0}, "new": None}}
    got = deep_merge(base, over)
    assert got == {"a": {"x": 1, "y": [9], "m": {"z": 0}, "new": None}, "b": 3}
    assert base["a"]["m"] == {"k": 1, "j": 2}  # inputs untouched


def test_apply_text_keeps_comments_and_styles():
    base = "# top comment\ng:\n  n: 4   # Section 4.1\n  l: [a, b]\n  keep: x  # untouched\n  none: null\n"
    out = apply_text(base, {"g": {"n": 1, "l": ["c"]}}, header="t")
    assert out.startswith("# preset: t\n# top comment\n")
    assert "n: 1   # Section 4.1" in out and "l: [c]" in out and "keep: x  # untouched" in out
    assert "none: null" in out
    assert yaml.safe_load(out) == {"g": {"n": 1, "l": ["c"], "keep": "x", "none": None}}
    # applying twice replaces the header line instead of stacking it
    assert apply_text(out, {}, header="u").count("# preset:") == 1


def test_expand_wildcards():
    params = {"knowdist": {"policy": {"x": 1}}, "corpus": {"pools": {}}, "s": {"models": {"a": 1, "b": 2}}}
    assert [k for k, _ in expand("*.policy", params)] == ["knowdist.policy"]
    assert [k for k, _ in expand("s.models.*", params)] == ["s.models.a", "s.models.b"]
    assert [k for k, v in expand("missing.group", params) if v is presets._MISSING] == ["missing.group"]


def test_discovery_finds_every_stage_group():
    found = {s.section for s in discover_sections()}
    for sec in [
        "corpus.ingest",
        "teacher",
        "knowdist.prompts",
        "sentibench.eval",
        "sentibench.models",
        "knowdist.policy",
        "icldist.policy",
        "models",
    ]:
        assert sec in found


def test_unknown_preset_and_bad_group(tmp_path: Path):
    with pytest.raises(PresetError, match="available"):
        presets.load_preset("nope", tmp_path)
    (tmp_path / "typo.yaml").write_text("knowdsit: {prompts: {n_texts: 1}}\n")
    errors = presets.check("typo", presets.read_params(PARAMS_FILE), tmp_path)
    assert any("knowdsit" in e for e in errors)


def test_bad_value_names_key_and_allowed(tmp_path: Path):
    (tmp_path / "bad.yaml").write_text("sentibench: {eval: {demo_split: test}}\nteacher: {runner: slurm}\n")
    errors = "\n".join(presets.check("bad", presets.read_params(PARAMS_FILE), tmp_path))
    assert "sentibench.eval.demo_split" in errors and "'dev' or 'train'" in errors
    assert "teacher.runner" in errors and "'ray' or 'local'" in errors


@pytest.mark.parametrize("name", presets.available())
def test_every_preset_validates(name):
    assert presets.check(name) == []


def test_cpu_is_identity():
    base = presets.read_params(PARAMS_FILE)
    assert presets.merged_params("cpu", base) == base


def test_applying_the_identity_preset_leaves_params_untouched(tmp_path, capsys):
    """`presets apply cpu` on the committed params.yaml writes nothing (it used to rewrite the file
    with a header and dirty the git tree); a preset that changes values still writes."""
    params = tmp_path / "params.yaml"
    params.write_bytes(PARAMS_FILE.read_bytes())
    before = params.stat().st_mtime_ns, params.read_bytes()
    assert presets.main(["apply", "cpu", "--params", str(params), "--no-check"]) == 0
    assert (params.stat().st_mtime_ns, params.read_bytes()) == before
    assert "unchanged" in capsys.readouterr().out
    assert presets.main(["apply", "tiny", "--params", str(params), "--no-check"]) == 0
    assert (
        params.read_bytes() != before[1]
        and yaml.safe_load(params.read_text())["knowdist"] != yaml.safe_load(before[1])["knowdist"]
    )


def test_a_missing_params_file_is_an_error_not_a_traceback(tmp_path, capsys):
    assert presets.main(["apply", "tiny", "--params", str(tmp_path / "nope.yaml")]) == 2
    assert "nope.yaml does not exist" in capsys.readouterr().err
