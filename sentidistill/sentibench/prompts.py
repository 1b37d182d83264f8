"""In-context prompts of Appendix B.2 (Tables 13-15) and the per-example demo sampler.

A prompt is the instruction, a blank line, each demonstration as
``Sentence: {sentence}\\nLabel: {label_text}\\n`` and the query as ``Sentence: {sentence}\\nLabel:``,
all joined with ``\\n`` (the authors' ``'\\n'.join([instruction, '', *demos, query])``). So demos
are separated by a blank line and the prompt ends with ``Label:`` with no trailing space.

Demonstrations are a fresh random sample per test example (Section 4.1: 4 from the dev set),
drawn with an RNG derived from (seed, dataset, example_id) by SHA-256, so any example's
prompt can be rebuilt alone, in any order, on any machine.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from sentidistill.schemas.sentibench_datasets import DEFAULT_PROMPT_TEXT, DatasetSpec, PromptText, get_spec

Row = Mapping[str, Any]
Pool = pl.DataFrame | Sequence[Row]


def format_demo(demo: Row, label_text: str) -> str:
    """One demonstration block (the trailing ``\\n`` plus the join makes the blank line)."""
    return f"Sentence: {demo['sentence']}\nLabel: {label_text}\n"


def format_query(query: Row) -> str:
    return f"Sentence: {query['sentence']}\nLabel:"


def build_prompt(
    spec: DatasetSpec, demos: Sequence[Row], query: Row, prompt_text: PromptText = DEFAULT_PROMPT_TEXT
) -> str:
    """The exact prompt text for ``query`` with ``demos`` (rows with ``sentence`` and
    ``label_text``; P-Stance rows also need ``label`` and ``target``: the instruction names the
    query's, each demo label its own) in the wording ``prompt_text`` (``code`` | ``paper``)."""
    instruction = spec.render_instruction(query.get("target") if spec.has_target else None, prompt_text)
    blocks = (format_demo(d, spec.demo_label_text(d, prompt_text)) for d in demos)
    return "\n".join([instruction, "", *blocks, format_query(query)])


def _pool_len(pool: Pool) -> int:
    return pool.height if isinstance(pool, pl.DataFrame) else len(pool)


def _pool_row(pool: Pool, i: int) -> dict[str, Any]:
    return pool.row(i, named=True) if isinstance(pool, pl.DataFrame) else dict(pool[i])


def sample_demos(pool: Pool, k: int, rng: random.Random) -> list[dict[str, Any]]:
    """``k`` distinct rows of ``pool`` in sampled order (like ``random.sample(pool, k)``)."""
    n = _pool_len(pool)
    if k < 0 or k > n:
        raise ValueError(f"cannot sample {k} demonstrations from a pool of {n} rows")
    return [_pool_row(pool, i) for i in rng.sample(range(n), k)]


def example_rng(seed: int, dataset: str, example_id: str) -> random.Random:
    """A ``random.Random`` seeded from SHA-256 of (seed, dataset, example_id) (never ``hash()``,
    which is salted per process)."""
    digest = hashlib.sha256(f"{seed}\x1f{dataset}\x1f{example_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def demos_for(dataset: str, seed: int, example_id: str, pool: Pool, k: int) -> list[dict[str, Any]]:
    """The ``k`` demonstrations of one example: reproducible, independent across examples.

    ``pool`` must be in a canonical order (the parquet's row order, e.g. the dev split
    filtered from ``data/sentibench/<dataset>.parquet``); the result depends on it.
    """
    return sample_demos(pool, k, example_rng(seed, dataset, example_id))


def prompt_for(
    dataset: str,
    seed: int,
    query: Row,
    pool: Pool,
    k: int,
    spec: DatasetSpec | None = None,
    prompt_text: PromptText = DEFAULT_PROMPT_TEXT,
) -> str:
    """Convenience: sample the demos of ``query`` and build its prompt."""
    spec = spec or get_spec(dataset)
    return build_prompt(spec, demos_for(dataset, seed, query["example_id"], pool, k), query, prompt_text)
