"""Stage `sentibench_ingest` on the real raw data: row counts of DATA.md / Table 1."""

from __future__ import annotations

import json

import polars as pl
import pytest

from sentidistill.paths import RAW_SENTIBENCH, require_pulled
from sentidistill.schemas.sentibench import schema_for
from sentidistill.schemas.sentibench_datasets import DATASETS
from sentidistill.stages import sentibench_ingest

# DATA.md and the paper's Table 1 (ATSA/ACSA: 2000 train rows -> 1600 train + 400 dev).
EXPECTED = {
    "imdb": (3000, 300, 1000),
    "yelp2": (3000, 300, 1000),
    "sst2": (3000, 300, 1821),
    "twitter": (3000, 300, 1000),
    "irony18": (3000, 300, 784),
    "emotion20": (3000, 300, 1421),
    "pstance": (3000, 300, 2157),
    "intimacy": (1287, 300, 396),
    "atsa": (1600, 400, 676),
    "acsa": (1600, 400, 676),
    "asqp": (1264, 316, 544),
    "ssa": (1744, 249, 499),
}


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    require_pulled(RAW_SENTIBENCH, "SentiBench raw data")
    out = tmp_path_factory.mktemp("sentibench")
    stats = sentibench_ingest.main(["--out-dir", str(out), "--metrics", str(out / "metrics.json")])
    return out, stats


def test_counts_match_table_1(ingested):
    out, stats = ingested
    on_disk = json.loads((out / "metrics.json").read_text())
    assert on_disk == json.loads(json.dumps(stats))
    for key, (train, dev, test) in EXPECTED.items():
        entry = stats["datasets"][key]
        assert entry["splits"] == {"train": train, "dev": dev, "test": test}, key
        assert entry["matches_table1"] and entry["rows_rejected"] == 0
        assert entry["rows_in"] == entry["rows_kept"] == sum(entry["raw_files"].values()) == train + dev + test
    assert stats["rows_in"] == stats["rows_kept"] == sum(sum(v) for v in EXPECTED.values())


def test_parquets_reread_against_their_schema(ingested):
    out, _ = ingested
    assert sorted(p.stem for p in out.glob("*.parquet")) == sorted(DATASETS)
    for key in DATASETS:
        df = schema_for(key).validate(pl.read_parquet(out / f"{key}.parquet"), lazy=True)
        assert df["dataset"].unique().to_list() == [key]


def test_absa_dev_rows_come_from_train_and_match_across_tasks(ingested):
    out, _ = ingested
    dev = {k: pl.read_parquet(out / f"{k}.parquet").filter(pl.col("split") == "dev") for k in ("atsa", "acsa")}
    assert dev["atsa"]["raw_split"].unique().to_list() == ["train"]
    assert dev["atsa"]["source_id"].to_list() == dev["acsa"]["source_id"].to_list()


def test_only_flag(tmp_path):
    stats = sentibench_ingest.main(
        ["--out-dir", str(tmp_path), "--metrics", str(tmp_path / "m.json"), "--only", "sst2"]
    )
    assert list(stats["datasets"]) == ["sst2"]
