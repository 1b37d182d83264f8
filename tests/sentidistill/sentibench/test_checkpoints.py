"""A damaged chunk checkpoint (truncated, garbled, another table) is set aside in ``corrupt/``
with a warning, never deleted; only that chunk is computed again, and it is counted."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from sentidistill.schemas.sentibench_datasets import get_spec
from sentidistill.sentibench.evaluate import CORRUPT_DIR, EvalParams, evaluate_dataset_seed, select_tests

pytestmark = pytest.mark.slow

DATASET = "sst2"
PARAMS = EvalParams(datasets=[DATASET], max_test_examples=3, seeds=[0])
#: bytes kept intact at each end of a garbled file (parquet's magic and footer length)
KEEP_ENDS = 8
#: what garbling XORs every other byte with
GARBLE = 0x5A


def _damage(chunk: Path, how: str) -> bytes:
    raw = chunk.read_bytes()
    if how == "truncate":
        chunk.write_bytes(raw[: len(raw) // 2])
    elif how == "garble":
        chunk.write_bytes(raw[:KEEP_ENDS] + bytes(b ^ GARBLE for b in raw[KEEP_ENDS:-KEEP_ENDS]) + raw[-KEEP_ENDS:])
    else:  # a whole, readable parquet that is not a predictions chunk
        pl.DataFrame({"example_id": ["x"], "other": [1]}).write_parquet(chunk)
    return chunk.read_bytes()


@pytest.fixture(scope="module")
def sst2(sentibench_frame):
    test, pool = select_tests({DATASET: sentibench_frame(DATASET)}, PARAMS)[DATASET]
    return get_spec(DATASET), test, pool


@pytest.fixture(scope="module")
def clean(tiny_hf_engine, sst2):
    """The predictions of a run without any checkpoint."""
    spec, test, pool = sst2
    return evaluate_dataset_seed(tiny_hf_engine, spec, test, pool, 0, PARAMS)


@pytest.mark.parametrize("how", ["truncate", "garble", "other_table"])
def test_a_corrupt_chunk_is_set_aside_recomputed_and_counted(tmp_path, tiny_hf_engine, sst2, clean, how, caplog):
    spec, test, pool = sst2
    ckpt_dir = tmp_path / "ckpt"
    evaluate_dataset_seed(tiny_hf_engine, spec, test, pool, 0, PARAMS, checkpoint_dir=ckpt_dir)
    (chunk,) = ckpt_dir.glob("*.parquet")
    damaged = _damage(chunk, how)

    set_aside: list[Path] = []
    with caplog.at_level("WARNING"):
        again = evaluate_dataset_seed(
            tiny_hf_engine, spec, test, pool, 0, PARAMS, checkpoint_dir=ckpt_dir, set_aside=set_aside
        )
    assert_frame_equal(again, clean)
    assert len(set_aside) == 1
    (kept,) = (ckpt_dir / CORRUPT_DIR).iterdir()
    assert set_aside == [kept] and kept.name.startswith(chunk.name)
    assert kept.read_bytes() == damaged  # moved aside as it was, not deleted
    assert chunk.name in caplog.text and "moved to" in caplog.text and str(kept) in caplog.text
    assert_frame_equal(
        pl.read_parquet(chunk).drop("prediction", "parse_status"), clean.drop("prediction", "parse_status")
    )  # the recomputed chunk replaced it
    assert sorted(p.name for p in ckpt_dir.iterdir()) == sorted([chunk.name, CORRUPT_DIR])  # no temp file

    # a sound chunk is reused: nothing more set aside
    assert_frame_equal(
        evaluate_dataset_seed(
            tiny_hf_engine, spec, test, pool, 0, PARAMS, checkpoint_dir=ckpt_dir, set_aside=set_aside
        ),
        clean,
    )
    assert len(set_aside) == 1
