"""The `sentidistill` command line: every subcommand reaches its module, a user's mistake ends
in one line and exit status 2 (no traceback), a bug keeps its traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sentidistill import cli
from sentidistill.paths import ROOT


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sentidistill.cli", *args], cwd=ROOT, capture_output=True, text=True)


def test_help_lists_every_command():
    out = _cli("--help")
    assert out.returncode == 0
    for name in [*cli.COMMANDS, "stage"]:
        assert name in out.stdout


@pytest.mark.parametrize("command", list(cli.COMMANDS))
def test_every_command_has_help(command):
    out = _cli(command, "--help")
    assert out.returncode == 0, out.stderr
    assert "usage:" in out.stdout


@pytest.mark.parametrize("command", list(cli.COMMANDS))
def test_subcommand_usage_names_the_cli(command):
    assert _cli(command, "--help").stdout.startswith(f"usage: sentidistill {command}")


def test_a_missing_artifact_is_one_line_and_exit_2(tmp_path):
    out = _cli("compare", str(tmp_path / "a"), str(tmp_path / "b"))
    assert out.returncode == cli.USER_ERROR_EXIT
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert out.stderr.startswith("sentidistill compare: error:") and "not found" in out.stderr


def test_an_unknown_preset_is_one_line():
    out = _cli("presets", "show", "no-such-preset")
    assert out.returncode != 0 and "Traceback" not in out.stderr


def test_stage_lists_and_runs_stages():
    out = _cli("stage", "--help")
    assert out.returncode == 0 and "teacher_generate" in out.stdout
    assert _cli("stage", "teacher_generate", "--help").stdout.startswith("usage: sentidistill stage teacher_generate")
    bad = _cli("stage", "no_such_stage")
    assert bad.returncode == cli.USER_ERROR_EXIT and "unknown stage" in bad.stderr


def test_a_bug_keeps_its_traceback():
    assert not cli.is_user_error(KeyError("x")) and not cli.is_user_error(ZeroDivisionError())
    assert cli.is_user_error(FileNotFoundError("x"))
    from sentidistill.params import ParamsError

    assert cli.is_user_error(ParamsError("bad value"))
