from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from datasketch import MinHash, MinHashLSH

from sentidistill.corpus import minhash as mh

from .synth import text

TEXTS = [
    "Hello world, this is a Test!",
    "a b",
    "",
    "😂😂 !!!",  # no words
    "The quick brown fox jumps over the lazy dog, again and AGAIN and again.",
    "one",
    "Ünïcödé wörds: naïve café, déjà vu",
    text(1, 60),
    text(2, 7),
]


@pytest.mark.parametrize("k", [1, 2, 3, 5, 13])
@pytest.mark.parametrize("chunk", [64, 100_000])
def test_signatures_equal_datasketch_minhash(k, chunk):
    """Batched signatures are bit-identical to MinHash(hashfunc=shingle_hash32) fed shingle by shingle."""
    sh, off = mh.shingle_hashes(mh.tokenize(TEXTS), k)
    sig = mh.MinHasher(num_perm=64, seed=3, chunk_shingles=chunk).signatures(sh, off)
    for i, t in enumerate(TEXTS):
        shingles = mh.shingles_of(mh.tokenize_one(t), k)
        assert sh[off[i] : off[i + 1]].tolist() == [mh.shingle_hash64(s) for s in shingles]
        ref = MinHash(num_perm=64, seed=3, hashfunc=mh.shingle_hash32)
        for s in shingles:
            ref.update(s)
        np.testing.assert_array_equal(sig[i], ref.hashvalues)


def test_tokens_casefolded_words_only():
    assert mh.tokenize_one("It's  GREAT!!<br />ok 👍 naïve") == ["it", "s", "great", "br", "ok", "naïve"]
    assert mh.match_key(pl.Series(["It's GREAT!", "it 's great .", "😂"])).to_list() == ["it s great"] * 2 + [""]
    toks = mh.tokenize(["b a", "", "a"])
    assert toks.counts.tolist() == [2, 0, 1]
    assert toks.hashes[1] == toks.hashes[2] == mh.word_hash("a")


def test_partial_shingles_for_short_texts():
    toks = mh.tokenize(["a b", "a b c d", ""])
    _, off = mh.shingle_hashes(toks, 3)
    assert np.diff(off).tolist() == [1, 2, 0]
    _, off = mh.shingle_hashes(toks, 3, partial=False)
    assert np.diff(off).tolist() == [0, 2, 0]


def test_jaccard_estimate_tracks_true_jaccard():
    a = text(10, 200)
    w = a.split()
    b = " ".join(w[:150] + text(11, 50).split())  # shares the first 3/4
    hasher = mh.MinHasher(num_perm=256, seed=1, chunk_shingles=4096)
    sig, _ = hasher.sketch_texts(pl.Series([a, b]), 3)
    sa = set(mh.shingles_of(mh.tokenize_one(a), 3))
    sb = set(mh.shingles_of(mh.tokenize_one(b), 3))
    true_j = len(sa & sb) / len(sa | sb)
    assert abs(mh.estimated_jaccard(sig[0], sig[1:])[0] - true_j) < 0.1


def test_band_keys_find_every_lsh_collision():
    texts = [text(s, 30) for s in range(20)]
    texts += [texts[0].replace(texts[0].split()[5], "changed"), texts[3].upper()]
    params = mh.MinHashParams(shingle_size=3, num_perm=128, threshold=0.7, seed=1, batch_texts=8, chunk_shingles=64)
    hasher, lsh = params.hasher(), params.lsh()
    sig = np.concatenate([s for _, s, _ in mh.sketch(pl.Series(texts), hasher, 3, params.batch_texts, desc="t")])
    shared = mh.shares_band(mh.band_keys(sig, lsh.hashranges))
    index = MinHashLSH(threshold=0.7, num_perm=128)
    for i in range(len(texts)):
        index.insert(i, hasher.lean(sig[i]))
    colliding = {i for i in range(len(texts)) if set(index.query(hasher.lean(sig[i]))) - {i}}
    assert colliding == set(np.flatnonzero(shared)) == {0, 3, 20, 21}
    other = mh.band_keys(sig[[20]], lsh.hashranges)
    assert set(np.flatnonzero(mh.shares_band_with(mh.band_keys(sig, lsh.hashranges), other))) == {0, 20}
