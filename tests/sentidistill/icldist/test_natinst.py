import json

import pytest

from sentidistill.icldist.natinst import NatInstParams, build_natinst_prompts, build_prompt
from tests.paper import golden


def _task(name, n):
    return {
        "Definition": [f"Answer yes or no for {name}."],
        "Positive Examples": [
            {"input": "Is it?", "output": "Yes", "explanation": "e"},
            {"input": "Is it not?", "output": "No", "explanation": "e"},
            {"input": "third", "output": "Yes", "explanation": "e"},
        ],
        "Instances": [
            {"id": f"{name}-{i}", "input": f"Question {i}?", "output": ["Yes" if i % 2 else "No"]} for i in range(n)
        ],
    }


@pytest.fixture
def natinst_dir(tmp_path):
    (tmp_path / "tasks").mkdir()
    for name, n in [("task001_a", 5), ("task002_b", 3)]:
        (tmp_path / "tasks" / f"{name}.json").write_text(json.dumps(_task(name, n)))
    return tmp_path


def test_prompt_layout_golden():
    assert build_prompt(_task("task001_a", 1), "Question 0?", 2) + "\n" == golden("icldist/natinst_example.txt")


def test_round_robin_and_gold(natinst_dir):
    p = NatInstParams(seed=0, answer_source="gold", n_examples=2, max_prompt_chars=2000)
    df, stats = build_natinst_prompts(natinst_dir, 6, p)
    assert df.height == 6 and stats["natinst_tasks_used"] == 2
    # every task contributes before any contributes a third time
    assert sorted(df["label_set"].value_counts()["count"].to_list()) == [3, 3]
    assert set(df["gold"]) <= {"Yes", "No"}
    assert df["prompt_id"].n_unique() == 6
    again, _ = build_natinst_prompts(natinst_dir, 6, p)
    assert again.equals(df)


def test_too_many_and_unknown_task(natinst_dir):
    p = NatInstParams(seed=0, answer_source="teacher", n_examples=2, max_prompt_chars=2000)
    with pytest.raises(ValueError, match="only 8"):
        build_natinst_prompts(natinst_dir, 9, p)
    with pytest.raises(ValueError, match="unknown tasks"):
        build_natinst_prompts(natinst_dir, 1, p.model_copy(update={"tasks": ["nope"]}))
