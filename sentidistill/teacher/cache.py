"""Row-level content-addressed cache of teacher answers: append-only parquet shards.

``<cache dir>/<namespace>/<16 hex>.parquet``, one row per cache key. A shard's name is
the hash of the keys it holds, and it is written atomically (temp file + rename), so

* a killed run leaves only whole shards (at most ``shard_rows`` answers are lost);
* rewriting the same rows is a no-op (same name, same content);
* two machines that generated different rows can merge their folders file by file.

Readers deduplicate by key (first shard in name order wins), so the folder stays
correct even if two runs wrote the same key. The folder is a DVC output with
``persist: true``: DVC keeps it across reruns and ``dvc push``/``pull`` share it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from schemas.teacher import CACHE_SHARD
from sentidistill.io import write_parquet
from sentidistill.log import get_logger

log = get_logger(__name__)

SHARD_COLUMNS = {
    "key": pl.Utf8,
    "response": pl.Utf8,
    "n_prompt_tokens": pl.Int64,
    "n_completion_tokens": pl.Int64,
    "finish_reason": pl.Utf8,
    "engine": pl.Utf8,
}


class TeacherCache:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        # the folder exists even when a run writes no shard (a DVC output must exist)
        self.root.mkdir(parents=True, exist_ok=True)

    def shards(self) -> list[Path]:
        return sorted(self.root.glob("*.parquet")) if self.root.is_dir() else []

    def remove_stale_temp_files(self) -> int:
        """Temp files of writes cut short by a kill (never read; removed before a run)."""
        stale = list(self.root.glob(".*.tmp")) if self.root.is_dir() else []
        for p in stale:
            p.unlink(missing_ok=True)
        return len(stale)

    def _scan(self) -> pl.LazyFrame | None:
        shards = self.shards()
        if not shards:
            return None
        return pl.scan_parquet([str(p) for p in shards], schema=SHARD_COLUMNS)

    def lookup(self, keys: Iterable[str]) -> pl.DataFrame:
        """Cached rows of ``keys`` (one per key; the first shard in name order wins)."""
        wanted = list(dict.fromkeys(keys))
        lf = self._scan()
        if lf is None or not wanted:
            return pl.DataFrame(schema=SHARD_COLUMNS)
        return lf.filter(pl.col("key").is_in(wanted)).unique("key", keep="first", maintain_order=True).collect()

    def stats(self) -> dict[str, Any]:
        lf = self._scan()
        if lf is None:
            return {"shards": 0, "rows": 0, "unique_keys": 0}
        agg = lf.select(pl.len().alias("rows"), pl.col("key").n_unique().alias("unique_keys")).collect().row(0)
        return {"shards": len(self.shards()), "rows": int(agg[0]), "unique_keys": int(agg[1])}

    def append(self, rows: Sequence[dict[str, Any]]) -> Path | None:
        """Write ``rows`` as one new shard (atomic); returns its path (None for no rows)."""
        if not rows:
            return None
        df = pl.DataFrame(list(rows), schema=SHARD_COLUMNS).unique("key", keep="first", maintain_order=True)
        name = hashlib.sha256("\n".join(sorted(df["key"].to_list())).encode()).hexdigest()[:16]
        path = self.root / f"{name}.parquet"
        if not path.exists():
            write_parquet(df, path, CACHE_SHARD)
        return path
