import os
import subprocess
import sys
import time

import polars as pl
import pytest

from sentidistill.io import ABANDONED_TEMP_AGE_S, _writer_tag
from sentidistill.teacher.cache import CORRUPT_DIR, TeacherCache


def _row(k, text="a"):
    return {
        "key": k * 64,
        "response": text,
        "n_prompt_tokens": 3,
        "n_completion_tokens": 1,
        "finish_reason": "stop",
        "engine": "echo",
    }


def test_append_lookup_dedupe(tmp_path):
    c = TeacherCache(tmp_path / "c")
    assert c.lookup(["a" * 64]).height == 0 and c.stats()["shards"] == 0
    p1 = c.append([_row("a"), _row("b")])
    assert c.append([_row("b"), _row("a")]) == p1  # same keys -> same shard name, no new file
    c.append([_row("b", "other"), _row("c")])  # a duplicate key in a second shard
    st = c.stats()
    assert st == {"shards": 2, "rows": 4, "unique_keys": 3}
    got = c.lookup(["b" * 64, "c" * 64, "z" * 64])
    assert sorted(got["key"].to_list()) == ["b" * 64, "c" * 64]
    assert got.filter(pl.col("key") == "b" * 64).height == 1


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temp_files_of_dead_writers_removed_live_ones_kept(tmp_path):
    """Another process may be writing a shard into the same folder right now: its temp file
    must survive this run's cleanup (the old cleanup removed every temp file)."""
    c = TeacherCache(tmp_path)
    c.append([_row("a")])
    host = _writer_tag().split("~")[0]
    live = tmp_path / f".deadbeef.parquet.{host}~{os.getpid()}.x1.tmp"
    dead = tmp_path / f".deadbeef.parquet.{host}~{_dead_pid()}.x2.tmp"
    foreign_new = tmp_path / ".deadbeef.parquet.otherhost~1.x3.tmp"
    foreign_old = tmp_path / ".deadbeef.parquet.otherhost~2.x4.tmp"
    for p in (live, dead, foreign_new, foreign_old):
        p.write_bytes(b"half a parquet")
    old = time.time() - ABANDONED_TEMP_AGE_S - 60
    os.utime(foreign_old, (old, old))
    assert c.lookup(["a" * 64]).height == 1  # temp files are never read
    assert c.remove_stale_temp_files() == 2
    assert sorted(p.name for p in tmp_path.glob(".*.tmp")) == sorted([live.name, foreign_new.name])


@pytest.mark.parametrize("damage", ["truncate", "garble", "foreign_rows"])
def test_a_corrupt_shard_is_set_aside_and_its_rows_count_as_missing(tmp_path, damage, caplog):
    c = TeacherCache(tmp_path / "c")
    good = c.append([_row("a"), _row("b")])
    bad = c.append([_row("c"), _row("d")])
    raw = bad.read_bytes()
    if damage == "truncate":
        bad.write_bytes(raw[: len(raw) // 2])
    elif damage == "garble":
        bad.write_bytes(raw[:8] + bytes(b ^ 0x5A for b in raw[8:-8]) + raw[-8:])
    else:  # a whole, readable parquet whose rows are not the ones its name promises
        other = TeacherCache(tmp_path / "other").append([_row("e")])
        bad.write_bytes(other.read_bytes())
    with caplog.at_level("WARNING"):
        found = c.verify(full=True) if damage == "garble" else c.verify()
    assert found == [bad.name] and c.set_aside == [bad.name]
    assert "moved to" in caplog.text and bad.name in caplog.text
    assert c.shards() == [good]
    kept = list((c.root / CORRUPT_DIR).iterdir())
    assert len(kept) == 1 and kept[0].read_bytes() != raw[:0]  # set aside, not deleted
    got = c.lookup(["a" * 64, "b" * 64, "c" * 64, "d" * 64])
    assert sorted(got["key"].to_list()) == ["a" * 64, "b" * 64]  # c, d: missing, so regenerated
    assert c.stats()["corrupt_shards_set_aside"] == 1


def test_a_shard_damaged_after_verify_is_caught_by_the_read(tmp_path):
    """A lookup that trips over a damaged shard sets it aside and answers from the sound ones."""
    c = TeacherCache(tmp_path / "c")
    c.append([_row("a")])
    bad = c.append([_row("b")])
    bad.write_bytes(bad.read_bytes()[:20])
    assert c.lookup(["a" * 64, "b" * 64])["key"].to_list() == ["a" * 64]
    assert c.set_aside == [bad.name]


def test_the_cache_folder_exists_even_without_shards(tmp_path):
    """A corpus whose rows all take gold answers writes no shard; its folder is still a DVC output."""
    from sentidistill.teacher.cache import TeacherCache

    cache = TeacherCache(tmp_path / "cache" / "icldist")
    assert cache.root.is_dir() and cache.shards() == [] and cache.stats()["rows"] == 0
