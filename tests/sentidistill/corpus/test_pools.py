from __future__ import annotations

import polars as pl
import pytest

from sentidistill.corpus.pools import PoolSizeError, balanced_quotas, sample_pools
from sentidistill.schemas.corpus import POOL, content_id

from .synth import pools_params


def clean_corpus(sizes: dict[str, int]) -> pl.DataFrame:
    rows = []
    for domain, n in sizes.items():
        for i in range(n):
            t = f"{domain} text number {i}"
            rows.append(
                {
                    "id": content_id(t),
                    "domain": domain,
                    "source": f"src_{domain}",
                    "origin": f"o{len(rows)}",
                    "file": f"{domain}.jsonl",
                    "line": i + 1,
                    "text": t,
                    "normalized": t,
                }
            )
    return pl.DataFrame(rows).with_row_index("row").with_columns(pl.col("row").cast(pl.Int64))


def test_balanced_disjoint_and_seeded():
    clean = clean_corpus({"imdb": 60, "twitter": 80, "yelp": 50})
    pools, stats = sample_pools(clean, pools_params(30, 12))
    know, icl = pools["knowdist"], pools["icldist"]
    POOL.validate(know)
    POOL.validate(icl)
    assert dict(know.group_by("domain").len().iter_rows()) == {"imdb": 10, "twitter": 10, "yelp": 10}
    assert dict(icl.group_by("domain").len().iter_rows()) == {"imdb": 4, "twitter": 4, "yelp": 4}
    assert not set(know["id"]) & set(icl["id"])
    assert know["pool_rank"].to_list() == list(range(30))
    assert stats["total"] == {"clean": 190, "knowdist": 30, "icldist": 12, "unused": 148}
    again, _ = sample_pools(clean, pools_params(30, 12))
    assert again["knowdist"].equals(know) and again["icldist"].equals(icl)
    other, _ = sample_pools(clean, pools_params(30, 12, seed=8))
    assert set(other["knowdist"]["id"]) != set(know["id"])


def test_removing_a_text_does_not_reshuffle_the_others():
    clean = clean_corpus({"imdb": 60, "yelp": 60})
    know = sample_pools(clean, pools_params(10, 0))[0]["knowdist"]
    dropped = clean.filter(pl.col("id") != know["id"][0])
    know2 = sample_pools(dropped, pools_params(10, 0))[0]["knowdist"]
    assert len(set(know["id"]) & set(know2["id"])) == 9


def test_small_domain_gives_all_it_has():
    clean = clean_corpus({"a": 100, "b": 100, "c": 5})
    pools, stats = sample_pools(clean, pools_params(30, 30))
    know = dict(pools["knowdist"].group_by("domain").len().iter_rows())
    icl = dict(pools["icldist"].group_by("domain").len().iter_rows())
    assert know == {"a": 13, "b": 12, "c": 5}
    assert icl == {"a": 15, "b": 15}
    assert stats["shortfall"] == {"knowdist": ["c"], "icldist": ["c"]}


def test_quotas_and_errors():
    assert balanced_quotas(10, {"x": 100, "y": 100, "z": 100}) == {"x": 4, "y": 3, "z": 3}
    assert balanced_quotas(0, {"x": 1}) == {"x": 0}
    with pytest.raises(PoolSizeError, match=r"knowdist_size|\*_size"):
        sample_pools(clean_corpus({"a": 5}), pools_params(6, 0))
    with pytest.raises(PoolSizeError, match="no clean texts"):
        sample_pools(clean_corpus({"a": 5}), pools_params(1, 0).model_copy(update={"domains": ["zzz"]}))
