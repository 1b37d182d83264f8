"""train_knowdist / train_icldist in dvc.yaml: exact code deps, params, outs, plots; CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
TRAINING_CODE = {f"sentidistill/training/{m}.py" for m in ("config", "data", "sft", "run")}


def _stages():
    return yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def test_dvc_stages_declare_code_data_models_and_outputs():
    st = _stages()
    kd, icl = st["train_knowdist"], st["train_icldist"]
    for stage, name in ((kd, "knowdist"), (icl, "icldist")):
        deps = set(stage["deps"])
        assert {"stages/train_student.py", "schemas/teacher.py", *TRAINING_CODE} <= deps
        assert "data/icldist/icldist_corpus.parquet" in deps
        assert stage["cmd"] == f"python -m sentidistill.stages.train_student {name}"
        assert "training" in stage["params"]
        assert f"models/student-{name}" in stage["outs"]
        assert f"dvclive/{name}" in stage["outs"] and "sentidistill/tracking.py" in deps  # DVCLive's log
        assert [next(iter(m)) for m in stage["metrics"]] == [f"metrics/training/{name}.json"]
    plots = [next(iter(p)) for p in yaml.safe_load((ROOT / "dvc.yaml").read_text())["plots"]]
    assert {"dvclive/knowdist/plots/metrics/loss.tsv", "dvclive/icldist/plots/metrics/loss.tsv"} <= set(plots)
    assert {"data/knowdist/knowdist_corpus.parquet", "models/${models.student}"} <= set(kd["deps"])
    assert "models/student-knowdist" in icl["deps"]


def test_sentibench_entries_point_at_the_trained_folders():
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    models = params["sentibench"]["models"]
    assert models["stage1-student"]["model"] == "student-knowdist"
    assert models["sentidistill-student"]["model"] == "student-icldist"
    assert models["sentidistill-student"]["engine"] == models["base-student"]["engine"]


def test_cli_help():
    out = subprocess.run(
        [sys.executable, "-m", "sentidistill.stages.train_student", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "knowdist" in out and "icldist" in out


def test_check_config_paper_preset_is_valid():
    from sentidistill.training.check_config import check

    errors, lines = check(ROOT / "presets" / "paper.yaml")
    assert errors == []
    assert any("profile paper-llama-3.2-1b" in line for line in lines)


def test_check_config_takes_preset_names_like_presets_check(capsys):
    from sentidistill.training.check_config import main

    assert main(["paper"]) == 0 and "OK: paper" in capsys.readouterr().out
    assert main(["no-such-preset"]) == 1
    assert "no preset 'no-such-preset'" in capsys.readouterr().err
