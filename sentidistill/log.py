"""Readable logs and progress bars shared by every stage."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def get_logger(name: str) -> logging.Logger:
    root = logging.getLogger("sentidistill")
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(_FORMAT, datefmt="%H:%M:%S"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        root.propagate = False
    return root.getChild(name.removeprefix("sentidistill."))


def _bar_options() -> dict:
    # redraw often on a terminal, every 2 s in logs (CI, dvc repro output)
    return {"dynamic_ncols": True, "mininterval": 0.1 if sys.stderr.isatty() else 2.0, "smoothing": 0.1}


def progress(items: Iterable[T], *, desc: str, total: int | None = None, unit: str = "it") -> Iterator[T]:
    """tqdm with rate and ETA over an iterable."""
    return iter(tqdm(items, desc=desc, total=total, unit=unit, **_bar_options()))


def progress_bar(total: int, *, desc: str, unit: str = "it") -> tqdm:
    """A manual tqdm (``.update(n)``) with rate and ETA, for work done in batches."""
    return tqdm(total=total, desc=desc, unit=unit, **_bar_options())
