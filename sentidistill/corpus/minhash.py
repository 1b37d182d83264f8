"""Batched MinHash signatures computed with numpy, compatible with datasketch.

The straightforward way to sketch a corpus is one ``datasketch.MinHash()`` per text
and one ``update()`` per shingle: a Python call, a SHA-1 and a 128-wide numpy
operation for every shingle (≈16M shingles for the 172K-text raw corpus). Here the
same sketch is computed for a whole batch of texts at once:

1. **Tokens** (:func:`tokenize`): case-folded words (:data:`TOKEN_PATTERN`), split by polars. Each
   distinct word is hashed once (BLAKE2b, 64 bit, stable across runs and machines).
2. **Shingles** (:func:`shingle_hashes`): the hashes of ``k`` consecutive words are
   combined with vectorized 64-bit arithmetic into one hash per shingle.
3. **Signatures** (:class:`MinHasher`): datasketch's ``affine32`` permutations
   (``h -> a*h + b mod 2^32`` after the MurmurHash3 finalizer), applied to a chunk of
   shingles × all permutations as one numpy array, reduced per text with
   ``np.minimum.reduceat``.

The signatures are bit-identical to ``datasketch.MinHash(num_perm, seed,
hashfunc=shingle_hash32)`` fed the same shingles (a test checks this), so they go
straight into :class:`datasketch.MinHashLSH` as :class:`datasketch.LeanMinHash`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from datasketch import LeanMinHash, MinHash, MinHashLSH
from pydantic import Field

from sentidistill.log import progress
from sentidistill.params import StrictModel

#: Words, after case folding: a letter, digit or underscore followed by letters, digits,
#: underscores and combining marks (so "naïve" in NFD or Devanagari stay one word, while
#: a stray variation selector U+FE0F left behind by an emoji is not a word). Punctuation,
#: emoji and whitespace only separate words, so formatting differences vanish.
TOKEN_PATTERN = r"[\p{L}\p{N}_][\p{L}\p{N}\p{M}_]*"
#: datasketch permutation scheme the signatures follow (bijective, uint32 values).
SCHEME = "affine32"

_U64 = np.uint64
_MASK64 = (1 << 64) - 1
_MASK32 = (1 << 32) - 1
# Shingle combiner: h <- fmix64(h * _MULT ^ next_word_hash); _MULT is the 64-bit FNV prime.
_MULT = 0x100000001B3
# MurmurHash3 64/32-bit finalizer constants (the avalanche step datasketch uses too).
_FMIX64 = (33, 0xFF51AFD7ED558CCD, 33, 0xC4CEB9FE1A85EC53, 33)
_FMIX32 = (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16)
_MAX32 = np.uint32(_MASK32)


def word_hash(word: str) -> int:
    """Stable 64-bit hash of one word (independent of Python's hash seed and of polars' version)."""
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")


def _fmix64_np(h: np.ndarray) -> np.ndarray:
    s1, m1, s2, m2, s3 = _FMIX64
    h = h ^ (h >> _U64(s1))
    h = h * _U64(m1)
    h = h ^ (h >> _U64(s2))
    h = h * _U64(m2)
    return h ^ (h >> _U64(s3))


def _fmix64_int(h: int) -> int:
    s1, m1, s2, m2, s3 = _FMIX64
    h ^= h >> s1
    h = (h * m1) & _MASK64
    h ^= h >> s2
    h = (h * m2) & _MASK64
    return h ^ (h >> s3)


def _fmix32_np(h: np.ndarray) -> np.ndarray:
    s1, m1, s2, m2, s3 = (np.uint32(v) for v in _FMIX32)
    h = h ^ (h >> s1)
    h = h * m1
    h = h ^ (h >> s2)
    h = h * m2
    return h ^ (h >> s3)


def fold32(h64: np.ndarray) -> np.ndarray:
    """64-bit shingle hashes -> the 32-bit inputs of the affine32 scheme (xor of both halves)."""
    return ((h64 >> _U64(32)) ^ (h64 & _U64(_MASK32))).astype(np.uint32)


def tokenize_one(text: str) -> list[str]:
    """Reference tokenizer for a single text (the batched :func:`tokenize` gives the same words)."""
    return pl.Series([text]).str.to_lowercase().str.extract_all(TOKEN_PATTERN)[0].to_list()


def shingle_hash64(words: Sequence[str]) -> int:
    """Scalar reference of one shingle's 64-bit hash (what :func:`shingle_hashes` vectorizes)."""
    h = word_hash(words[0])
    for w in words[1:]:
        h = _fmix64_int(((h * _MULT) & _MASK64) ^ word_hash(w))
    return h


def shingle_hash32(words: Sequence[str]) -> int:
    """Scalar 32-bit shingle hash: use as ``datasketch.MinHash(hashfunc=...)`` to reproduce signatures."""
    h = shingle_hash64(words)
    return (h >> 32) ^ (h & _MASK32)


def shingles_of(words: Sequence[str], k: int, *, partial: bool = True) -> list[tuple[str, ...]]:
    """The word k-shingles of one text (reference for tests and the baseline loop).

    ``partial``: a text with fewer than ``k`` (but at least one) words yields one
    shingle of all its words; otherwise it yields none.
    """
    n = len(words)
    if n == 0 or (n < k and not partial):
        return []
    if n < k:
        return [tuple(words)]
    return [tuple(words[i : i + k]) for i in range(n - k + 1)]


class MinHashParams(StrictModel):
    """MinHash + LSH settings (``corpus.dedup.minhash``, ``corpus.decontaminate.minhash``)."""

    shingle_size: int = Field(ge=1, le=32, description="words per shingle")
    num_perm: int = Field(ge=16, le=1024, description="permutations (signature length)")
    threshold: float = Field(gt=0.0, le=1.0, description="estimated Jaccard at or above which texts match")
    seed: int = Field(ge=0, description="seed of datasketch's permutations")
    lsh_weights: tuple[float, float] = Field((0.5, 0.5), description="(false positive, false negative) weights")
    batch_texts: int = Field(ge=1, description="texts per signature batch (bounds memory)")
    chunk_shingles: int = Field(ge=64, description="shingles per numpy block (sized for CPU cache)")

    def hasher(self) -> MinHasher:
        return MinHasher(self.num_perm, self.seed, self.chunk_shingles)

    def lsh(self) -> MinHashLSH:
        return lsh_index(self.threshold, self.num_perm, self.lsh_weights)


@dataclass(frozen=True)
class Tokens:
    """Word hashes of a batch of texts, flattened: text ``i`` owns ``hashes[offsets[i]:offsets[i+1]]``."""

    hashes: np.ndarray  # uint64
    offsets: np.ndarray  # int64, len = n_texts + 1

    @property
    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)


def tokenize(texts: pl.Series | Sequence[str]) -> Tokens:
    """Case-folded word tokens of every text, each word hashed with :func:`word_hash`.

    Each distinct word is hashed once: the words are cast to a polars Categorical, the
    distinct categories hashed in Python, and the per-token hashes gathered with numpy.
    """
    s = texts if isinstance(texts, pl.Series) else pl.Series(list(texts), dtype=pl.String)
    words = s.fill_null("").str.to_lowercase().str.extract_all(TOKEN_PATTERN)
    counts = words.list.len().fill_null(0).to_numpy().astype(np.int64)
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    flat = words.explode().drop_nulls().cast(pl.Categorical)
    if flat.len() == 0:
        return Tokens(np.zeros(0, dtype=np.uint64), offsets)
    codes = flat.to_physical().to_numpy()
    vocab = flat.unique()
    vocab_codes = vocab.to_physical().to_numpy()
    vocab_words = vocab.cast(pl.String).to_list()
    table = np.zeros(int(vocab_codes.max()) + 1, dtype=np.uint64)
    table[vocab_codes] = np.fromiter((word_hash(w) for w in vocab_words), dtype=np.uint64, count=len(vocab_words))
    return Tokens(table[codes], offsets)


def shingle_hashes(tokens: Tokens, k: int, *, partial: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of every word k-shingle, flattened with per-text offsets.

    Same shingles as :func:`shingles_of` and same values as :func:`shingle_hash64`.
    Window hashes are rolled over the whole flat token array with contiguous slices
    (``k - 1`` passes); each shingle then gathers the window starting at its first word.
    """
    counts = tokens.counts
    if partial:
        n_sh = np.where(counts > 0, np.maximum(counts - k + 1, 1), 0)
    else:
        n_sh = np.maximum(counts - k + 1, 0)
    sh_offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(n_sh, out=sh_offsets[1:])
    total = int(sh_offsets[-1])
    if total == 0:
        return np.zeros(0, dtype=np.uint64), sh_offsets
    owner = np.repeat(np.arange(len(counts)), n_sh)
    starts = tokens.offsets[owner] + (np.arange(total) - sh_offsets[owner])
    width = np.minimum(counts[owner], k)  # < k only for the single shingle of a short text
    short = np.flatnonzero(width < k)
    th = tokens.hashes
    out = np.empty(total, dtype=np.uint64)
    window = th  # window[i] = hash of words i .. i+j (length shrinks by one per pass)
    for j in range(1, k):
        sel = short[width[short] == j]
        out[sel] = window[starts[sel]]
        window = _fmix64_np((window[:-1] * _U64(_MULT)) ^ th[j:])
    full = width == k
    out[full] = window[starts[full]]
    return out, sh_offsets


class MinHasher:
    """datasketch-compatible MinHash signatures for many texts at once."""

    def __init__(self, num_perm: int, seed: int, chunk_shingles: int) -> None:
        self.num_perm = num_perm
        self.seed = seed
        self.chunk_shingles = chunk_shingles
        a, b = MinHash(num_perm=num_perm, seed=seed, scheme=SCHEME).permutations
        self.a = np.ascontiguousarray(a, dtype=np.uint32)
        self.b = np.ascontiguousarray(b, dtype=np.uint32)

    def signatures(self, sh64: np.ndarray, sh_offsets: np.ndarray) -> np.ndarray:
        """(n_texts, num_perm) uint32 signatures; a text without shingles gets all ``2^32-1``.

        Works on blocks of whole texts holding about ``chunk_shingles`` shingles: the block
        is laid out permutation-major (num_perm × shingles, contiguous per permutation) so
        ``np.minimum.reduceat`` runs along contiguous memory; a block stays in CPU cache.
        """
        n = len(sh_offsets) - 1
        sig = np.full((n, self.num_perm), _MAX32, dtype=np.uint32)
        hv = _fmix32_np(fold32(sh64))
        nonempty = np.flatnonzero(np.diff(sh_offsets) > 0)
        ends = sh_offsets[nonempty + 1]
        a = self.a[:, None]
        b = self.b[:, None]
        pos = 0
        while pos < len(nonempty):
            lo = sh_offsets[nonempty[pos]]
            stop = max(int(np.searchsorted(ends, lo + self.chunk_shingles, side="right")), pos + 1)
            rows = nonempty[pos:stop]
            block = a * hv[None, lo : ends[stop - 1]] + b
            sig[rows] = np.minimum.reduceat(block, sh_offsets[rows] - lo, axis=1).T
            pos = stop
        return sig

    def sketch_texts(self, texts: pl.Series | Sequence[str], shingle_size: int) -> tuple[np.ndarray, np.ndarray]:
        """Signatures and per-text shingle counts for raw (normalized) texts."""
        sh, off = shingle_hashes(tokenize(texts), shingle_size)
        return self.signatures(sh, off), np.diff(off)

    def lean(self, sig_row: np.ndarray) -> LeanMinHash:
        """Wrap one signature row for :class:`datasketch.MinHashLSH`."""
        return LeanMinHash(seed=self.seed, hashvalues=sig_row, scheme=SCHEME)


def estimated_jaccard(sig: np.ndarray, others: np.ndarray) -> np.ndarray:
    """MinHash estimate of Jaccard similarity between one signature and each row of ``others``."""
    return (others == sig[None, :]).mean(axis=1)


def match_key(texts: pl.Series) -> pl.Series:
    """The word sequence of each text as one string (``"it s a charming film"``): equal keys mean
    the texts differ at most in case, punctuation, whitespace and markup."""
    return texts.str.to_lowercase().str.extract_all(TOKEN_PATTERN).list.join(" ").fill_null("")


def sketch(
    texts: pl.Series,
    hasher: MinHasher,
    shingle_size: int,
    batch_texts: int,
    *,
    desc: str,
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """Signatures of ``texts`` batch by batch: yields (first row, signatures, shingle counts).

    Only one batch of tokens, shingles and signatures is alive at a time, so memory is
    bounded by ``batch_texts`` whatever the corpus size.
    """
    starts = range(0, texts.len(), batch_texts)
    for start in progress(starts, desc=desc, total=len(starts), unit="batch"):
        sig, counts = hasher.sketch_texts(texts.slice(start, batch_texts), shingle_size)
        yield start, sig, counts


def lsh_index(threshold: float, num_perm: int, weights: tuple[float, float]) -> MinHashLSH:
    """An empty in-memory :class:`datasketch.MinHashLSH` (bands and rows chosen by datasketch)."""
    return MinHashLSH(threshold=threshold, num_perm=num_perm, weights=weights)


def band_keys(sig: np.ndarray, hashranges: Sequence[tuple[int, int]]) -> np.ndarray:
    """(n, bands) uint64: one hash per LSH band of each signature.

    Two signatures that are equal on a band get equal keys, so the keys find every pair
    the LSH index could return (plus, rarely, a 64-bit collision, which the index and the
    Jaccard check then discard).
    """
    keys = np.empty((sig.shape[0], len(hashranges)), dtype=np.uint64)
    for j, (lo, hi) in enumerate(hashranges):
        h = np.full(sig.shape[0], _U64(j), dtype=np.uint64)
        for c in range(lo, hi):
            h = _fmix64_np((h * _U64(_MULT)) ^ sig[:, c].astype(np.uint64))
        keys[:, j] = h
    return keys


def shares_band(keys: np.ndarray) -> np.ndarray:
    """Rows whose key on some band equals another row's key on that band."""
    out = np.zeros(keys.shape[0], dtype=bool)
    for j in range(keys.shape[1]):
        order = np.argsort(keys[:, j], kind="stable")
        k = keys[order, j]
        eq = k[1:] == k[:-1]
        dup = np.zeros(len(k), dtype=bool)
        dup[1:] |= eq
        dup[:-1] |= eq
        out[order[dup]] = True
    return out


def shares_band_with(keys: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Rows of ``keys`` whose key on some band occurs on that band in ``other``."""
    out = np.zeros(keys.shape[0], dtype=bool)
    for j in range(keys.shape[1]):
        out |= np.isin(keys[:, j], other[:, j])
    return out
