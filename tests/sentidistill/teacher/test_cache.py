import polars as pl

from sentidistill.teacher.cache import TeacherCache


def _row(k, text="a"):
    return {"key": k * 64, "response": text, "n_prompt_tokens": 3, "n_completion_tokens": 1,
            "finish_reason": "stop", "engine": "echo"}  # fmt: skip


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


def test_stale_temp_files_ignored_and_removed(tmp_path):
    c = TeacherCache(tmp_path)
    c.append([_row("a")])
    (tmp_path / ".deadbeef.parquet.x1.tmp").write_bytes(b"half a parquet")
    assert c.lookup(["a" * 64]).height == 1
    assert c.remove_stale_temp_files() == 1 and not list(tmp_path.glob(".*.tmp"))


def test_the_cache_folder_exists_even_without_shards(tmp_path):
    """A corpus whose rows all take gold answers writes no shard; its folder is still a DVC output."""
    from sentidistill.teacher.cache import TeacherCache

    cache = TeacherCache(tmp_path / "cache" / "icldist")
    assert cache.root.is_dir() and cache.shards() == [] and cache.stats()["rows"] == 0
