"""Row-level content-addressed cache of teacher answers: append-only parquet shards.

``<cache dir>/<namespace>/<16 hex>.parquet``, one row per cache key. A shard's name is
the hash of the keys it holds, and it is written atomically (temp file + rename), so

* a killed run leaves only whole shards (at most ``shard_rows`` answers are lost);
* rewriting the same rows is a no-op (same name, same content);
* two machines that generated different rows can merge their folders file by file.

Readers deduplicate by key (first shard in name order wins), so the folder stays
correct even if two runs wrote the same key: several processes may write one folder at
once (each rename is atomic, and a cleanup removes only temp files of dead writers). A
shard that cannot be read, or whose keys do not hash to its name, is moved to
``corrupt/`` with a warning (never deleted) and its rows count as missing, so only they
are generated again. The folder is a DVC output with ``persist: true``: DVC keeps it
across reruns and ``dvc push``/``pull`` share it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from sentidistill.faults import failpoint
from sentidistill.io import abandoned_temp_files, write_parquet
from sentidistill.log import get_logger
from sentidistill.schemas.columns import column_dtypes
from sentidistill.schemas.teacher import CACHE_SHARD

log = get_logger(__name__)

SHARD_COLUMNS = column_dtypes(CACHE_SHARD)


CORRUPT_DIR = "corrupt"


def shard_name(keys: Iterable[str]) -> str:
    """A shard's file stem: the hash of the keys it holds (so a rewrite of the same rows is a no-op)."""
    return hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:16]


class TeacherCache:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        # the folder exists even when a run writes no shard (a DVC output must exist)
        self.root.mkdir(parents=True, exist_ok=True)
        self.set_aside: list[str] = []  # shards moved to corrupt/ by this object
        self._seen_shards: set[str] = set()
        self._known_keys: set[str] = set()

    def shards(self) -> list[Path]:
        return sorted(self.root.glob("*.parquet")) if self.root.is_dir() else []

    def remove_stale_temp_files(self) -> int:
        """Temp files of writes cut short by a kill (never read). Only those of writers that
        are gone: another run writing into this folder right now keeps its temp files."""
        stale = abandoned_temp_files(self.root)
        for p in stale:
            p.unlink(missing_ok=True)
        return len(stale)

    # ------------------------------------------------------------ integrity
    def _shard_problem(self, path: Path, *, full: bool) -> str | None:
        """Why ``path`` is not a sound shard (None if it is): unreadable, wrong columns, or
        keys that do not hash to its name (garbled, or truncated to a valid prefix)."""
        try:
            df = pl.read_parquet(path) if full else pl.read_parquet(path, columns=["key"])
        except Exception as exc:  # polars/arrow raise several types for a damaged file
            return f"unreadable ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})"
        if full and dict(df.schema) != SHARD_COLUMNS:
            return f"unexpected columns {dict(df.schema)}"
        if df.schema.get("key") != pl.Utf8 or df["key"].null_count():
            return "bad key column"
        if shard_name(df["key"].unique().to_list()) != path.stem:
            return "its keys do not match its name"
        return None

    def _set_aside(self, path: Path, problem: str) -> None:
        dest_dir = self.root / CORRUPT_DIR
        dest_dir.mkdir(exist_ok=True)
        dest = dest_dir / f"{path.stem}.{time.strftime('%Y%m%dT%H%M%S')}.parquet.corrupt"
        try:
            path.replace(dest)
        except FileNotFoundError:  # another process set it aside first
            return
        self.set_aside.append(path.name)
        log.warning(
            "teacher cache: shard %s is %s; moved to %s (kept for inspection, not deleted); "
            "its rows count as missing and are generated again",
            path,
            problem,
            dest,
        )

    def verify(self, *, full: bool = False) -> list[str]:
        """Check every shard (its keys, or with ``full`` every column) and set aside the
        unsound ones; returns their names. Runs once before a run looks anything up."""
        found = []
        for p in self.shards():
            problem = self._shard_problem(p, full=full)
            if problem is not None:
                self._set_aside(p, problem)
                found.append(p.name)
        return found

    def _collect(self, build: Any) -> pl.DataFrame:
        """Run a query over the shards; if a damaged shard breaks it, set aside what a full
        check finds and run it once more over the sound ones."""
        shards = self.shards()
        if not shards:
            return build(None).collect()
        try:
            return build(pl.scan_parquet([str(p) for p in shards], schema=SHARD_COLUMNS)).collect()
        except Exception:
            if not self.verify(full=True):
                raise
        shards = self.shards()
        return build(pl.scan_parquet([str(p) for p in shards], schema=SHARD_COLUMNS) if shards else None).collect()

    # --------------------------------------------------------------- reads
    def lookup(self, keys: Iterable[str]) -> pl.DataFrame:
        """Cached rows of ``keys`` (one per key; the first shard in name order wins)."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return pl.DataFrame(schema=SHARD_COLUMNS)

        def build(lf: pl.LazyFrame | None) -> Any:
            if lf is None:
                return pl.DataFrame(schema=SHARD_COLUMNS).lazy()
            return lf.filter(pl.col("key").is_in(wanted)).unique("key", keep="first", maintain_order=True)

        return self._collect(build)

    def stats(self) -> dict[str, Any]:
        def build(lf: pl.LazyFrame | None) -> Any:
            if lf is None:
                return pl.DataFrame({"rows": [0], "unique_keys": [0]}).lazy()
            return lf.select(pl.len().alias("rows"), pl.col("key").n_unique().alias("unique_keys"))

        rows, unique = self._collect(build).row(0)
        out: dict[str, Any] = {"shards": len(self.shards()), "rows": int(rows), "unique_keys": int(unique)}
        if self.set_aside:
            out["corrupt_shards_set_aside"] = len(self.set_aside)
        return out

    def known_keys(self) -> set[str]:
        """Every key on disk now, reading only the shards that appeared since the last call (so a
        worker can ask before each batch whether another run answered some of its rows meanwhile)."""
        for p in self.shards():
            if p.name in self._seen_shards:
                continue
            try:
                self._known_keys.update(pl.read_parquet(p, columns=["key"])["key"].to_list())
            except Exception:  # damaged: the next verify() sets it aside; its rows count as missing
                continue
            self._seen_shards.add(p.name)
        return self._known_keys

    # -------------------------------------------------------------- writes
    def append(self, rows: Sequence[dict[str, Any]]) -> Path | None:
        """Write ``rows`` as one new shard (atomic); returns its path (None for no rows)."""
        if not rows:
            return None
        df = pl.DataFrame(list(rows), schema=SHARD_COLUMNS).unique("key", keep="first", maintain_order=True)
        path = self.root / f"{shard_name(df['key'].to_list())}.parquet"
        if not path.exists():
            write_parquet(df, path, CACHE_SHARD)
            failpoint("teacher_cache.shard_written", str(path))
        return path
