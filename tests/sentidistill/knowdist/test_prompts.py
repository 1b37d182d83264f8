import polars as pl
import pytest

from sentidistill.knowdist.prompts import (
    INSTRUCTIONS,
    METHODS,
    PERSPECTIVES,
    KnowDistPromptParams,
    build_prompt,
    build_prompts,
    variants_for,
)
from tests.paper import golden, paper_text


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("perspective", PERSPECTIVES)
def test_prompt_matches_golden(method, perspective):
    # golden files were cut from Tables 9-10 of the paper text (instruction, blank line, "Text: {Text}")
    assert build_prompt(method, perspective, "{Text}") + "\n" == golden(f"knowdist/{method}_{perspective}.txt")


@pytest.mark.parametrize("key", list(INSTRUCTIONS))
def test_instruction_verbatim_in_paper(key):
    assert INSTRUCTIONS[key] in paper_text()


def _params(**kw):
    base = dict(seed=1, n_texts=6, methods=list(METHODS), perspectives=list(PERSPECTIVES), prompts_per_text=2)
    return KnowDistPromptParams(**{**base, **kw})


def _pool(n=8):
    return pl.DataFrame(
        {
            "id": [f"{i:016x}" for i in range(n)],
            "domain": ["imdb", "yelp"] * (n // 2),
            "normalized": [f"text number {i} " * (i + 1) for i in range(n)],
            "pool_rank": list(reversed(range(n))),
        }
    )


def test_build_prompts_counts_and_ranks():
    df, stats = build_prompts(_pool(), _params())
    assert df.height == 12 and stats["texts"] == 6 and stats["prompts"] == 12
    # pool_rank order: the texts of rank 0..5 are ids 7..2
    assert df["text_id"].unique().sort().to_list() == [f"{i:016x}" for i in range(2, 8)]
    assert df["prompt_id"].n_unique() == 12
    # two distinct variants per text
    assert (
        df.group_by("text_id").agg(pl.struct("method", "perspective").n_unique().alias("n"))["n"].to_list() == [2] * 6
    )


def test_variants_stable_when_texts_added():
    a, _ = build_prompts(_pool(8), _params(n_texts=4))
    b, _ = build_prompts(_pool(8), _params(n_texts=6))
    assert a.join(b, on="prompt_id", how="anti").height == 0  # old prompts unchanged


def test_table5_ablations_expressible():
    only_anl, _ = build_prompts(_pool(), _params(methods=["analyzing"], perspectives=["BASIC"], prompts_per_text=1))
    assert set(only_anl["method"]) == {"analyzing"} and set(only_anl["perspective"]) == {"BASIC"}
    with pytest.raises(ValueError, match="prompts_per_text"):
        _params(methods=["rewriting"], perspectives=["BASIC"], prompts_per_text=2)


def test_max_text_chars_and_shortfall():
    df, stats = build_prompts(_pool(), _params(n_texts=2, max_text_chars=40))
    assert stats["skipped_too_long"] > 0 and df.height == 4
    with pytest.raises(ValueError, match="n_texts"):
        build_prompts(_pool(), _params(n_texts=8, max_text_chars=40))


def test_variants_for_deterministic():
    p = _params()
    assert variants_for("abc", p) == variants_for("abc", p)
