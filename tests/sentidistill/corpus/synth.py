"""Tiny synthetic corpora for the corpus tests: JSONL sources, a fake SentiBench tree, params."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from sentidistill.corpus.decontaminate import DecontaminateParams
from sentidistill.corpus.dedup import DedupParams
from sentidistill.corpus.ingest import IngestParams, SourceSpec
from sentidistill.corpus.minhash import MinHashParams
from sentidistill.corpus.normalize import NormalizeParams
from sentidistill.corpus.pools import PoolsParams

# A vocabulary large enough that independent random texts share (almost) no 3-word shingles.
VOCAB = [
    f"{a}{b}"
    for a in ("lo", "ra", "mi", "te", "su", "ka", "no", "pe")
    for b in ("vel", "ment", "ing", "ous", "ade", "ist", "ory", "ify", "ble", "ure", "ance", "ward")
]

# Small batches and blocks so the batched code paths run several iterations on tiny data.
MINHASH = MinHashParams(shingle_size=3, num_perm=128, threshold=0.7, seed=1, batch_texts=5, chunk_shingles=64)


def words(seed: int, n: int = 40) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(VOCAB) for _ in range(n)]


def text(seed: int, n: int = 40) -> str:
    """A random 'review' of n words in sentences of 8 words."""
    w = words(seed, n)
    sentences = [" ".join(w[i : i + 8]).capitalize() + "." for i in range(0, n, 8)]
    return " ".join(sentences)


def row(t: Any, domain: str = "imdb", source: str = "synthetic", **extra: Any) -> dict[str, Any]:
    return {"text": t, "domain": domain, "source": source, **extra}


def write_jsonl(path: Path, lines: list[dict[str, Any] | str | bytes]) -> Path:
    """Write JSONL; dicts are serialized, str/bytes lines are written verbatim (for malformed input)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out = bytearray()
    for line in lines:
        if isinstance(line, dict):
            out += json.dumps(line, ensure_ascii=False).encode("utf-8")
        elif isinstance(line, str):
            out += line.encode("utf-8")
        else:
            out += line
        out += b"\n"
    path.write_bytes(bytes(out))
    return path


def write_sentibench(root: Path, files: dict[str, list[dict[str, Any]]]) -> Path:
    """Write ``{"sc/imdb/test.json": [{"sentence": ...}, ...]}`` as BOM-prefixed JSON arrays."""
    for rel, rows in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(rows, indent=4, ensure_ascii=False), encoding="utf-8-sig")
    return root


def ingest_params(paths: list[str], **kw: Any) -> IngestParams:
    base = {
        "sources": [SourceSpec(path=p) for p in paths],
        "min_chars": 10,
        "max_chars": 2000,
        "snippet_chars": 50,
        "normalize": NormalizeParams(domains={"twitter": {"html_line_breaks": "space", "newlines": "space"}}),
    }
    return IngestParams(**{**base, **kw})


def dedup_params() -> DedupParams:
    return DedupParams(minhash=MINHASH)


def decontam_params(root: str, splits: tuple[str, ...] = ("test", "val", "train")) -> DecontaminateParams:
    return DecontaminateParams(sentibench_dir=root, splits=list(splits), ngram_size=13, minhash=MINHASH)


def pools_params(know: int, icl: int, seed: int = 7) -> PoolsParams:
    return PoolsParams(seed=seed, knowdist_size=know, icldist_size=icl)
