"""Prompt format (Appendix B.2, Tables 13-15), golden prompts of all 12 datasets, demo sampling.

Regenerate the golden files after an intended format change with
``UPDATE_GOLDEN=1 .venv/bin/pytest tests/sentidistill/sentibench/test_prompts.py`` and review
the diff.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import polars as pl
import pytest

from sentidistill.schemas.sentibench_datasets import CATEGORIES, DATASETS
from sentidistill.sentibench.prompts import build_prompt, demos_for, prompt_for, sample_demos

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "prompts"
GOLDEN_SEED = 0
GOLDEN_SHOTS = 4  # Section 4.1


# ---------------------------------------------------------------------------------------
# Hand-written: the paper's tables
# ---------------------------------------------------------------------------------------


def test_atsa_prompt_matches_table_15_layout():
    label = "[('ravioli', 'positive')]"
    demo = {"sentence": "I had the best ravioli ever.", "label_text": label, "label_text_code": label}
    query = {"sentence": "Green Tea creme brulee is a must!"}
    expected = (
        "Please perform Aspect Term Sentiment Analysis task. Given the sentence, extract all "
        "(aspect term, sentiment polarity) pairs.\n"
        "\n"
        "Sentence: I had the best ravioli ever.\n"
        "Label: [('ravioli', 'positive')]\n"
        "\n"
        "Sentence: Green Tea creme brulee is a must!\n"
        "Label:"
    )
    assert build_prompt(DATASETS["atsa"], [demo], query) == expected


def test_pstance_prompt_names_query_target_and_demo_targets():
    # Table 14: the instruction names the query's target, each demo label its own target.
    demos = [
        {
            "sentence": "Bernie though has ...",
            "label_text": "favor (opinion towards 'Bernie Sanders')",
            "label_text_code": "favor(opinion towards 'Bernie Sanders')",
        },
        {
            "sentence": "Sleepy Joe ...",
            "label_text": "against (opinion towards 'Joe Biden')",
            "label_text_code": "against(opinion towards 'Joe Biden')",
        },
    ]
    query = {"sentence": "He's the ONLY ONE ...", "target": "Bernie Sanders"}
    expected = (
        "Please perform Stance Detection task. Given the sentence, assign a sentiment label "
        "expressed by the author towards \"Bernie Sanders\" from ['against', 'favor']. Return label "
        "only without any other text.\n"
        "\n"
        "Sentence: Bernie though has ...\n"
        "Label: favor (opinion towards 'Bernie Sanders')\n"
        "\n"
        "Sentence: Sleepy Joe ...\n"
        "Label: against (opinion towards 'Joe Biden')\n"
        "\n"
        "Sentence: He's the ONLY ONE ...\n"
        "Label:"
    )
    assert build_prompt(DATASETS["pstance"], demos, query, "paper") == expected
    # the authors' code (prompt_text: code, the default) writes no space before "("
    code = expected.replace(" (opinion towards", "(opinion towards")
    assert code != expected
    assert (
        build_prompt(DATASETS["pstance"], demos, query, "code")
        == code
        == build_prompt(DATASETS["pstance"], demos, query)
    )


def test_pstance_query_without_target_is_an_error():
    with pytest.raises(ValueError, match="target"):
        build_prompt(DATASETS["pstance"], [], {"sentence": "x"})


def test_zero_shot_prompt_is_instruction_blank_line_query():
    p = build_prompt(DATASETS["imdb"], [], {"sentence": "Great."})
    assert p == DATASETS["imdb"].instruction + "\n\nSentence: Great.\nLabel:"


@pytest.mark.parametrize(
    ("key", "sentence", "label_line"),
    [
        # demo lines printed in the paper's Tables 14-15, found in the released data
        ("atsa", "I had the best ravioli ever.", "[('ravioli', 'positive')]"),
        ("acsa", "I pray it stays open forever.", "[('restaurant general', 'positive')]"),
        (
            "asqp",
            "Make sure you try this place as often as you can .",
            "[('restaurant general', 'place', 'try', 'positive')]",
        ),
        ("emotion20", "it's pretty depressing when u hit pan on ur favourite highlighter", "sadness"),
        ("intimacy", "Would God be pleased if you were working to hasten the apocalypse?", "not intimate"),
        ("irony18", "@user I infer that you are besmirching coffee, but that can't be right", "non-irony"),
    ],
)
def test_paper_demo_labels_are_reproduced(sentibench_frame, key, sentence, label_line):
    rows = sentibench_frame(key).filter(pl.col("sentence") == sentence)
    assert rows.height == 1
    assert rows["label_text"][0] == label_line


def test_pstance_demo_label_of_table_14(sentibench_frame):
    rows = sentibench_frame("pstance").filter(pl.col("sentence").str.starts_with("? seriously - no hate"))
    assert rows["label_text"].to_list() == ["favor (opinion towards 'Bernie Sanders')"]
    assert rows["label_text_code"].to_list() == ["favor(opinion towards 'Bernie Sanders')"]  # icl_multifaced.py


def test_atsa_code_label_text_sorts_pairs_by_string_offsets(sentibench_frame):
    """The authors sort ATSA demo pairs by their raw string offsets; the paper's text order
    and theirs differ for 219 of the 2,676 Rest16 rows (same pairs, other order)."""
    frame = sentibench_frame("atsa")
    differ = frame.filter(pl.col("label_text") != pl.col("label_text_code"))
    assert differ.height == 219
    for row in differ.head(20).iter_rows(named=True):
        assert sorted(eval(row["label_text"])) == sorted(eval(row["label_text_code"]))  # noqa: S307 (own repr)
    same = frame.filter(pl.col("label_text") == pl.col("label_text_code"))
    assert same.height == frame.height - 219
    for key in ("acsa", "asqp", "ssa", "sst2"):
        f = sentibench_frame(key)
        assert (f["label_text"] == f["label_text_code"]).all()


# ---------------------------------------------------------------------------------------
# Golden files: the exact prompt of each dataset's first test example
# ---------------------------------------------------------------------------------------


def golden_prompt(frame: pl.DataFrame, key: str, prompt_text: str = "code") -> str:
    pool = frame.filter(pl.col("split") == "dev")
    query = frame.filter(pl.col("split") == "test").row(0, named=True)
    return prompt_for(key, GOLDEN_SEED, query, pool, GOLDEN_SHOTS, prompt_text=prompt_text)


@pytest.mark.parametrize("prompt_text", ["code", "paper"])
@pytest.mark.parametrize("key", list(DATASETS))
def test_golden_prompt(sentibench_frame, key, prompt_text):
    """Golden prompts in both wordings (sentibench.eval.prompt_text): the authors' code and the paper."""
    text = golden_prompt(sentibench_frame(key), key, prompt_text)
    path = GOLDEN / prompt_text / f"{key}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    assert path.exists(), f"{path} missing: run with UPDATE_GOLDEN=1 to create it"
    assert text == path.read_bytes().decode("utf-8")


@pytest.mark.parametrize("key", list(DATASETS))
def test_golden_prompt_structure(sentibench_frame, key):
    """Independent of the golden text: instruction, blank line, 4 demo blocks, query."""
    text = golden_prompt(sentibench_frame(key), key)
    spec = DATASETS[key]
    assert not text.endswith(" ") and text.endswith("\nLabel:")
    assert text.count("\nLabel: ") == GOLDEN_SHOTS
    if spec.has_target:
        assert text.startswith(spec.instruction.split("{target}")[0])
    else:
        assert text.startswith(spec.render_instruction() + "\n\nSentence: ")
    # every demo block ends with its label line and a blank line
    assert text.count("\n\nSentence: ") == GOLDEN_SHOTS + 1
    if spec.is_classification and not spec.has_target:
        for line in text.splitlines():
            if line.startswith("Label: "):
                assert line.removeprefix("Label: ") in spec.labels


def test_every_category_has_four_golden_datasets():
    assert [len(v) for v in CATEGORIES.values()] == [4, 4, 4]
    for prompt_text in ("code", "paper"):
        assert sorted(p.stem for p in (GOLDEN / prompt_text).glob("*.txt")) == sorted(DATASETS)


# ---------------------------------------------------------------------------------------
# Demo sampling
# ---------------------------------------------------------------------------------------


def _pool(n: int = 50) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "example_id": [f"val-{i:05d}" for i in range(n)],
            "sentence": [f"s{i}" for i in range(n)],
            "label_text": ["positive"] * n,
        }
    )


def test_demos_are_reproducible_and_order_independent():
    pool = _pool()
    ids = [f"test-{i:05d}" for i in range(20)]
    first = {i: demos_for("imdb", 0, i, pool, 4) for i in ids}
    again = {i: demos_for("imdb", 0, i, pool, 4) for i in reversed(ids)}
    assert first == again


def test_demos_are_a_fresh_sample_per_example_and_per_seed():
    pool = _pool()
    per_example = {tuple(d["example_id"] for d in demos_for("imdb", 0, f"test-{i:05d}", pool, 4)) for i in range(20)}
    assert len(per_example) == 20
    a = [d["example_id"] for d in demos_for("imdb", 0, "test-00000", pool, 4)]
    b = [d["example_id"] for d in demos_for("imdb", 1, "test-00000", pool, 4)]
    c = [d["example_id"] for d in demos_for("yelp2", 0, "test-00000", pool, 4)]
    assert a != b and a != c
    assert len(set(a)) == 4  # without replacement


def test_demos_are_pinned_across_python_processes():
    # sha256-derived seeds, not hash(): this exact sample must never change silently.
    got = [d["example_id"] for d in demos_for("imdb", 0, "test-00000", _pool(), 4)]
    assert got == PINNED_SAMPLE


PINNED_SAMPLE = ["val-00033", "val-00000", "val-00024", "val-00025"]


def test_sample_demos_accepts_row_dicts_and_checks_k():
    rows = _pool(5).to_dicts()
    assert len(sample_demos(rows, 5, random.Random(0))) == 5
    assert sample_demos(rows, 0, random.Random(0)) == []
    with pytest.raises(ValueError, match="cannot sample 6"):
        sample_demos(rows, 6, random.Random(0))
