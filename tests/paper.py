"""The paper's text (../shared/reference), for tests that check prompts against its tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from sentidistill.paths import ROOT

PAPER = ROOT.parent / "shared" / "reference" / "paper-targeted-distillation-for-sentiment-analysis.md"
GOLDEN = Path(__file__).resolve().parent / "golden"


def paper_text() -> str:
    if not PAPER.is_file():
        pytest.skip(f"paper text not found at {PAPER}")
    return PAPER.read_text(encoding="utf-8")


def golden(rel: str) -> str:
    return (GOLDEN / rel).read_text(encoding="utf-8")
