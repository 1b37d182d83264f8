"""Real SentiBench data for the prompt/ingest tests, ingested in memory (no DVC stage run)."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import pytest

from sentidistill.paths import RAW_SENTIBENCH, require_pulled
from sentidistill.schemas.sentibench_datasets import DATASETS
from sentidistill.sentibench.ingest import IngestParams, ingest_dataset

# Fixed here (not read from params.yaml) so golden files pin the format, not a params choice.
TEST_INGEST = IngestParams(dev_size_absa=400, dev_seed=42)


@pytest.fixture(scope="session")
def sentibench_frame() -> Callable[[str], pl.DataFrame]:
    """``frame(key)``: the validated frame of one dataset from data/raw/sentibench (cached)."""
    require_pulled(RAW_SENTIBENCH, "SentiBench raw data")
    cache: dict[str, pl.DataFrame] = {}

    def frame(key: str) -> pl.DataFrame:
        if key not in cache:
            cache[key] = ingest_dataset(DATASETS[key], RAW_SENTIBENCH, TEST_INGEST)
        return cache[key]

    return frame
