import polars as pl
import pytest

from sentidistill.icldist.build import ICL_PROMPT_COLUMNS, build_icl_prompts, parse_demo_labels
from sentidistill.icldist.formats import FormatParams
from sentidistill.icldist.natinst import NatInstParams
from sentidistill.icldist.prompts import (
    EMOTION_INSTRUCTION,
    MINIMIZED_INSTRUCTION,
    SENTIMENT_INSTRUCTION,
    DemoLabelParams,
    ICLPromptParams,
    build_prompt,
    demo_label_requests,
    instruction_for,
    select_demo_texts,
)
from tests.paper import golden, paper_text

EKMAN = ["happiness", "sad", "fear", "anger", "surprise", "disgust", "neutral"]
GOEMO = [
    "neutral",
    "curiosity",
    "confusion",
    "amusement",
    "gratitude",
    "admiration",
    "pride",
    "approval",
    "realization",
    "surprise",
    "excitement",
    "joy",
    "relief",
    "caring",
    "optimism",
    "desire",
    "love",
    "fear",
    "nervousness",
    "grief",
    "sadness",
    "remorse",
    "disapproval",
    "disappointment",
    "anger",
    "annoyance",
    "embarrassment",
    "disgust",
]


def formats(**kw):
    base = dict(
        label_words={
            "basic": ["positive", "negative", "neutral"],
            "signed": ["+1", "-1", "0"],
            "abbreviated": ["POS", "NEG", "NEU"],
            "casual": ["good", "bad", "ok"],
        },
        diversify_label_words=True,
        taxonomies={"ekman7": EKMAN, "goemotions28": GOEMO},
        taxonomy_aliases={"ekman7": {"sadness": "sad"}},
        diversify_taxonomies=True,
        minimized_instruction=True,
        minimized_instruction_prob=0.25,
    )
    return FormatParams(**{**base, **kw})


# Tables 11-12 with their one demonstration (texts cut with "..." as printed)
GOLDEN_CASES = [
    (
        "sentiment_basic",
        "sentiment",
        ["positive", "negative", "neutral"],
        "full",
        "I bought this because I wanted to control the amount of oil I was using. I read the other reviews and the ...",
        "neutral",
        "A fabulous social commentary is illustrated between the lines that you can enjoy privately in your mind while ...",
    ),
    (
        "sentiment_lw_signed",
        "sentiment",
        ["+1", "-1", "0"],
        "full",
        "I bought this because I wanted to control the amount of oil I was using. I read the other reviews and the ...",
        "0",
        "If your planting several rows of garden veggies, ie: corn beans, etc, this is a great time saver. You must make ...",
    ),
    (
        "sentiment_mi",
        "sentiment",
        ["positive", "negative", "neutral"],
        "minimized",
        "I couldn't use this cable. But it is not the fault of the cable. I ordered it to use with my new kodak printer. I ...",
        "neutral",
        "This is a good family game, easy to learn, and straightforward to play. Also helpful in teaching US geography ...",
    ),
    (
        "emotion_basic",
        "emotion",
        EKMAN,
        "full",
        "I just received a pair 38x30 VIP and they were a bit loose around the waste, and the legging was long enough ...",
        "['disgust', 'neutral', 'sadness']",
        "First, the title is misleading. One might expect a book called Stumbling on happiness provide ...",
    ),
    (
        "emotion_lt_goemotions",
        "emotion",
        GOEMO,
        "full",
        "Let me start by saying that I have read as many Agatha Christie books as I possibly could. Sad Cypress ...",
        "['curiosity', 'admiration', 'surprise', 'disappointment', 'disapproval']",
        "I put this in my Garage and the humidity that comes out of the end is good for the wood in this kind of ...",
    ),
    (
        "emotion_mi",
        "emotion",
        EKMAN,
        "minimized",
        "I really don't get how this game got such good ratings. My only guess is that people just like game of ...",
        "['disgust', 'neutral', 'anger']",
        "This wonderful allegory is highly entertaining for a young person and deeply inspiring for an adult who is ...",
    ),
]


@pytest.mark.parametrize("name,task,labels,style,demo,label,query", GOLDEN_CASES, ids=[c[0] for c in GOLDEN_CASES])
def test_prompt_matches_golden(name, task, labels, style, demo, label, query):
    prompt = build_prompt(instruction_for(task, labels, style), [(demo, label)], query)
    assert prompt + "\n" == golden(f"icldist/{name}.txt")


def test_instructions_verbatim_in_paper():
    text = paper_text()
    assert SENTIMENT_INSTRUCTION.format(labels="['positive', 'negative', 'neutral']") in text
    # Table 11 LW prints the three alternative label-word lists in one line
    lw = "['+1', '-1', '0']/['POS', 'NEG', 'NEU']/['good', 'bad', 'ok']"
    assert SENTIMENT_INSTRUCTION.format(labels=lw) in text
    assert EMOTION_INSTRUCTION.format(labels=str(EKMAN)) in text
    assert EMOTION_INSTRUCTION.format(labels=str(GOEMO)) in text
    assert MINIMIZED_INSTRUCTION in text
    assert str(EKMAN) in text and str(GOEMO) in text


def test_label_words_validation():
    with pytest.raises(ValueError, match="distinct words"):
        formats(label_words={"basic": ["positive", "negative"]})
    f = formats(diversify_label_words=False, diversify_taxonomies=False)
    assert f.word_sets() == ["basic"] and f.taxonomy_names() == ["ekman7"]
    assert f.to_words("neutral", "signed") == "0" and f.to_canonical("NEG", "abbreviated") == "negative"


def _pool(n, short=True):
    return pl.DataFrame(
        {
            "id": [f"{i:016x}" for i in range(n)],
            "domain": ["twitter", "amazon"] * (n // 2),
            "normalized": [f"short text {i} is great" if short else "x" * 1000 for i in range(n)],
            "pool_rank": list(range(n)),
        }
    )


def _demo_labels(pool, fmt):
    texts = select_demo_texts(pool, DemoLabelParams(n_texts=6, min_chars=5, max_chars=100))
    req = demo_label_requests(texts, fmt)
    answers = {"sentiment": "positive", "emotion": "['joy', 'surprise']"}
    gen = req.with_columns(
        pl.col("task").replace_strict(answers).alias("response"),
        pl.lit("stop").alias("finish_reason"),
        pl.lit(None, dtype=pl.Utf8).alias("flag"),
    )
    # an ekman7 answer outside the taxonomy ("joy" is not Ekman) must fail for that set
    return req, parse_demo_labels(gen, fmt)


def test_demo_label_requests_and_parsing():
    fmt = formats(taxonomy_aliases={})
    req, labels = _demo_labels(_pool(10), fmt)
    assert req.height == 6 * 3  # sentiment once + two taxonomies
    assert "Output:" in req["user_message"][0] and req["user_message"][0].endswith("Output:")
    ok = labels.filter(pl.col("parse_error").is_null())
    assert set(ok["label_set"]) == {"basic", "goemotions28"}
    assert set(labels.filter(pl.col("label_set") == "ekman7")["parse_error"]) == {"unknown_label"}


def test_build_icl_prompts(tmp_path):
    fmt = formats(taxonomies={"ekman7": EKMAN + ["joy"], "goemotions28": GOEMO})
    pool = _pool(40)
    _, labels = _demo_labels(pool, fmt)
    params = ICLPromptParams(
        seed=3, n_prompts=20, mixture={"sentiment": 1, "emotion": 1, "natinst": 0}, min_demos=1, max_demos=16
    )
    nat = NatInstParams(seed=1, answer_source="teacher", n_examples=2, max_prompt_chars=3000)
    df, stats = build_icl_prompts(pool, labels, tmp_path, fmt, params, nat)
    assert df.height == 20 and list(df.columns) == list(ICL_PROMPT_COLUMNS)
    assert not set(df["text_id"]) & set(labels["text_id"])  # demo texts never targets
    assert df["n_demos"].min() >= 1 and df["n_demos"].max() <= 6  # capped by the 6 labeled demos
    for row in df.iter_rows(named=True):
        assert row["user_message"].count("\nOutput:") == row["n_demos"] + 1
        assert row["user_message"].endswith("Output:")
        if row["instruction"] == "minimized":
            assert row["user_message"].startswith(MINIMIZED_INSTRUCTION)
        if row["task"] == "sentiment":  # demos rendered in the prompt's label words
            word = fmt.label_words[row["label_set"]][0]
            assert f"Output: {word}\n" in row["user_message"]
    again, _ = build_icl_prompts(pool, labels, tmp_path, fmt, params, nat)
    assert again.equals(df)
    assert stats["prompts"] == 20


def test_no_diversification_uses_basic_format(tmp_path):
    fmt = formats(
        diversify_label_words=False,
        diversify_taxonomies=False,
        minimized_instruction=False,
        taxonomies={"ekman7": EKMAN + ["joy"], "goemotions28": GOEMO},
    )
    pool = _pool(40)
    _, labels = _demo_labels(pool, fmt)
    params = ICLPromptParams(
        seed=3, n_prompts=20, mixture={"sentiment": 1, "emotion": 1, "natinst": 0}, min_demos=1, max_demos=4
    )
    nat = NatInstParams(seed=1, answer_source="teacher", n_examples=2, max_prompt_chars=3000)
    df, _ = build_icl_prompts(pool, labels, tmp_path, fmt, params, nat)
    assert set(df["format"]) <= {"basic+full", "ekman7+full"}
