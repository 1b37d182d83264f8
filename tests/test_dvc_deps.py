"""dvc.yaml declares every file of this repository that a stage's command can run, so a change
there reruns what it affects (tests/support/dvc_deps.py computes the import closure)."""

from __future__ import annotations

from tests.support.dvc_deps import closure, extra_deps, missing_deps


def test_every_stage_depends_on_the_code_it_imports():
    missing = missing_deps()
    assert not missing, "dvc.yaml misses code deps (add them: python -m tests.support.dvc_deps --write):\n" + "\n".join(
        f"{stage}: {', '.join(files)}" for stage, files in missing.items()
    )


def test_no_stage_lists_code_it_cannot_run():
    extra = extra_deps()
    assert not extra, "dvc.yaml lists code deps outside the import closure (drop them: "
    "python -m tests.support.dvc_deps --write):\n" + "\n".join(
        f"{stage}: {', '.join(files)}" for stage, files in extra.items()
    )


def test_the_closure_follows_lazy_imports_and_package_inits():
    files = {f.as_posix().split("/work/")[-1] for f in closure("sentidistill.stages.export_student")}
    names = {f.rsplit("/", 2)[-2] + "/" + f.rsplit("/", 1)[-1] for f in files}
    assert "models/gguf.py" in names  # imported at module level by training/export.py
    assert "sentibench/compare.py" in names  # imported inside ExportConfig.load
    assert "sentidistill/__init__.py" in names
