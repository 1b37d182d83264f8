"""Training under kill -9: SIGKILL the trainer after an optimizer step, or just after a
checkpoint was written and before the next one is whole; the rerun resumes from the newest
complete checkpoint and ends with the same weights as an uninterrupted run (tiny random Llama)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sentidistill.faults import FAILPOINT_ENV
from sentidistill.paths import ROOT
from sentidistill.training.sft import INCOMPLETE_DIR, last_complete_checkpoint


def _setup(work: Path, tiny_llama: Path, corpora: dict[str, Path]) -> None:
    (work / "models").mkdir(parents=True)
    shutil.copytree(tiny_llama, work / "models" / tiny_llama.name)
    for p in corpora.values():
        shutil.copy(p, work / p.name)


def _run(work: Path, model: str, failpoint: str | None = None) -> int:
    env = {k: v for k, v in os.environ.items() if k != FAILPOINT_ENV}
    if failpoint:
        env[FAILPOINT_ENV] = failpoint
    with open(work / "child.log", "ab") as log:
        return subprocess.run(
            [sys.executable, "-m", "tests.sentidistill.training.train_child", str(work), model],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
            timeout=600,
        ).returncode


def _weights(work: Path) -> bytes:
    from safetensors.torch import load_file

    t = load_file(str(work / "models" / "student-knowdist" / "hf" / "model.safetensors"))
    return b"".join(t[k].numpy().tobytes() for k in sorted(t))


def _log(work: Path) -> str:
    return (work / "child.log").read_text(errors="replace")[-3000:]


@pytest.fixture
def uninterrupted(tmp_path, tiny_llama, corpora) -> Path:
    work = tmp_path / "full"
    _setup(work, tiny_llama, corpora)
    assert _run(work, tiny_llama.name) == 0, _log(work)
    return work


@pytest.mark.slow
@pytest.mark.parametrize("point", ["after_a_step", "mid_checkpoint"])
def test_kill_during_training_then_rerun_resumes_to_the_same_weights(
    uninterrupted, tmp_path, tiny_llama, corpora, point
):
    work = tmp_path / "killed"
    _setup(work, tiny_llama, corpora)
    fp = "training.step:3" if point == "after_a_step" else "training.checkpoint_saved:3"
    assert _run(work, tiny_llama.name, fp) == -signal.SIGKILL, _log(work)
    assert not (work / "models" / "student-knowdist").exists()  # no model folder from a killed run
    (ckpt_dir,) = (work / "cache" / "knowdist").iterdir()
    if point == "mid_checkpoint":
        # what a kill between the Trainer's weight and state writes leaves: checkpoint-3 without its state
        (ckpt_dir / "checkpoint-3" / "trainer_state.json").unlink()
        assert Path(last_complete_checkpoint(ckpt_dir)).name == "checkpoint-2"
        assert [p.name.split(".")[0] for p in (ckpt_dir / INCOMPLETE_DIR).iterdir()] == ["checkpoint-3"]
        shutil.move(str(next((ckpt_dir / INCOMPLETE_DIR).iterdir())), ckpt_dir / "checkpoint-3")  # the rerun finds it
    assert _run(work, tiny_llama.name) == 0, _log(work)
    metrics = json.loads((work / "metrics" / "knowdist.json").read_text())
    # after_a_step: killed at the end of step 3, before its save; mid_checkpoint: checkpoint-3 is set aside
    assert metrics["resumed_from"] == "checkpoint-2"
    if point == "mid_checkpoint":
        assert "checkpoint-3 is incomplete (missing trainer_state.json)" in (work / "child.log").read_text()
    full = json.loads((uninterrupted / "metrics" / "knowdist.json").read_text())
    assert metrics["global_step"] == full["global_step"]
    assert _weights(work) == _weights(uninterrupted)  # bit-identical to the uninterrupted run
    assert not list(work.rglob(".*.tmp")) and not list((work / "models").glob(".*"))  # no partial artifacts
