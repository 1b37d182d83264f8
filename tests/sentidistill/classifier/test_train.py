"""classifier_train: data accounting, the seeded stratified held-out split, hard/soft targets
and the soft loss (fast); fine-tuning the real all-MiniLM-L6-v2 on a handful of rows (slow)."""

from __future__ import annotations

import json
import math

import polars as pl
import pytest

from sentidistill.classifier.config import TrainParams
from sentidistill.classifier.train import (
    NotEnoughLabelsError,
    class_weights,
    soft_cross_entropy,
    split_heldout,
    targets,
    usable_rows,
)
from sentidistill.io import write_parquet
from sentidistill.params import load_params, parse_section
from sentidistill.schemas.classifier import labels_schema
from tests.sentidistill.classifier.conftest import LABELS, label_params

POS = [
    "great food and friendly staff",
    "loved every minute of it",
    "best purchase this year",
    "wonderful acting",
    "really happy with this phone",
    "superb service, will return",
]
NEG = [
    "cold soup and a rude waiter",
    "broke after two days",
    "boring and far too long",
    "worst hotel ever",
    "never buying this again",
    "the plot made no sense",
]
NEU = ["the store opens at nine", "it comes in blue and red", "the film is two hours long", "delivered on tuesday"]


def train_params(**over) -> TrainParams:
    base = dict(load_params()["classifier"]["train"])
    base.update(over)
    return parse_section("classifier.train", base, TrainParams)


def labels_table(extra_failed: int = 2, soft: bool = True) -> pl.DataFrame:
    rows = []
    texts = [(t, "positive") for t in POS] + [(t, "negative") for t in NEG] + [(t, "neutral") for t in NEU]
    texts += [(f"unclear text {i}", None) for i in range(extra_failed)]
    for i, (t, lab) in enumerate(texts):
        lid = LABELS.index(lab) if lab else None
        probs = [0.8 if j == lid else 0.1 for j in range(3)] if (lab and soft and i % 5) else None
        rows.append(
            {
                "prompt_id": f"{i:016x}",
                "text_id": f"t{i}",
                "domain": ["imdb", "yelp"][i % 2],
                "text": t,
                "user_message": f"Label: {t}",
                "key": f"{i:064x}",
                "engine": "fake:teacher@000",
                "response": "{...}",
                "finish_reason": "stop",
                "n_completion_tokens": 10,
                "flag": None,
                "label": lab,
                "label_id": lid,
                "raw_label": lab,
                "rationale": "because" if lab else None,
                "parse_method": "json" if lab else None,
                "parse_error": None if lab else "no_json",
                "soft_probs": probs,
            }
        )
    schema = {
        "n_completion_tokens": pl.Int64,
        "label_id": pl.Int64,
        "soft_probs": pl.List(pl.Float64),
        "flag": pl.Utf8,
        "label": pl.Utf8,
        "raw_label": pl.Utf8,
        "rationale": pl.Utf8,
        "parse_method": pl.Utf8,
        "parse_error": pl.Utf8,
    }
    df = pl.DataFrame(rows, schema_overrides=schema)
    return labels_schema(LABELS).validate(df)


def test_usable_rows_accounting_and_too_few():
    df = labels_table(extra_failed=3)
    ok, st = usable_rows(df, train_params())
    assert st["teacher_rows"] == 19 == st["used"] + sum(st["excluded_parse_failed"].values())
    assert st["excluded_parse_failed"]["no_json"] == 3 and ok.height == 16
    with pytest.raises(NotEnoughLabelsError, match="min_train_rows"):
        usable_rows(df, train_params(min_train_rows=100))


def test_heldout_split_is_seeded_stratified_and_disjoint():
    ok, _ = usable_rows(labels_table(), train_params())
    tr, ho = split_heldout(ok, 0.25, 42)
    assert tr.height + ho.height == ok.height and not set(tr["text_id"]) & set(ho["text_id"])
    assert ho.group_by("label").len().sort("label")["len"].to_list() == [2, 1, 2]  # round(6*.25)=2, round(4*.25)=1
    tr2, ho2 = split_heldout(ok, 0.25, 42)
    assert ho2.equals(ho) and tr2.equals(tr)
    _, ho3 = split_heldout(ok, 0.25, 7)
    assert set(ho3["text_id"]) != set(ho["text_id"])


def test_targets_hard_soft_and_fallback():
    ok, _ = usable_rows(labels_table(), train_params())
    hard, fb = targets(ok, 3, "hard")
    assert fb == 0 and all(sum(t) == 1.0 and max(t) == 1.0 for t in hard)
    soft, fb = targets(ok, 3, "soft")
    assert fb == ok["soft_probs"].null_count() > 0
    assert any(t == [0.1, 0.1, 0.8] or t == [0.8, 0.1, 0.1] for t in soft)


def test_soft_cross_entropy_tiny_case():
    torch = pytest.importorskip("torch")
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    p = torch.tensor([[1.0, 0.0, 0.0], [0.2, 0.3, 0.5]])
    got = soft_cross_entropy(logits, p)
    logq = torch.log_softmax(logits, -1)
    want = (-(p[0] * logq[0]).sum() - (p[1] * logq[1]).sum()) / 2
    assert float(got) == pytest.approx(float(want))
    # one-hot targets = ordinary cross-entropy; the minimum over logits is at the target distribution
    assert float(soft_cross_entropy(logits[:1], p[:1])) == pytest.approx(
        float(torch.nn.functional.cross_entropy(logits[:1], torch.tensor([0])))
    )
    assert float(soft_cross_entropy(torch.log(p[1:]), p[1:])) < float(soft_cross_entropy(logits[1:], p[1:]))
    assert float(soft_cross_entropy(torch.log(p[1:]), p[1:])) == pytest.approx(-float((p[1] * torch.log(p[1])).sum()))


def test_balanced_class_weights_and_weighted_loss():
    torch = pytest.importorskip("torch")
    assert class_weights([0, 0, 0, 2], 3, "none") is None
    w = class_weights([0, 0, 0, 2], 3, "balanced")
    assert w == [pytest.approx(4 / 9), 1.0, pytest.approx(4 / 3)]  # n / (C * n_c); a class without rows: 1
    logits = torch.tensor([[0.0, 1.0, 2.0], [2.0, 0.0, 0.0]])
    onehot = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    wt = torch.tensor([0.5, 1.0, 3.0])
    # one-hot targets: exactly torch's weighted cross-entropy (normalized by the total weight)
    assert float(soft_cross_entropy(logits, onehot, wt)) == pytest.approx(
        float(torch.nn.functional.cross_entropy(logits, torch.tensor([2, 0]), weight=wt))
    )
    # the rare class counts more: its row dominates the weighted mean
    per_row = [float(soft_cross_entropy(logits[i : i + 1], onehot[i : i + 1])) for i in range(2)]
    assert float(soft_cross_entropy(logits, onehot, wt)) == pytest.approx((3.0 * per_row[0] + 0.5 * per_row[1]) / 3.5)


@pytest.fixture(scope="module")
def minilm_dir():
    from sentidistill.models.store import ModelNotMaterializedError, model_paths

    try:
        return model_paths("all-minilm-l6-v2").hf_dir
    except ModelNotMaterializedError as exc:  # pragma: no cover - depends on the checkout
        pytest.fail(f"{exc} (make test does this for you)")


@pytest.mark.slow
@pytest.mark.parametrize("label_type", ["hard", "soft"])
def test_train_on_a_handful_of_rows_saves_a_standard_hf_folder(tmp_path, minilm_dir, label_type):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from sentidistill.classifier.predict import EncoderClassifier
    from sentidistill.classifier.train import train_classifier

    write_parquet(labels_table(), tmp_path / "labels.parquet", labels_schema(LABELS))
    params = train_params(
        base_model=str(minilm_dir),
        label_type=label_type,
        epochs=3,
        batch_size=4,
        max_length=32,
        inference_max_length=64,
        heldout_fraction=0.25,
        early_stopping_patience=1,
        threads=1,
    )
    out = tmp_path / "model"
    s = train_classifier(
        tmp_path / "labels.parquet",
        params,
        label_params(),
        out_dir=out,
        metrics_path=tmp_path / "m.json",
        work_dir=tmp_path / "work",
        git_rev="test",
    )
    model = AutoModelForSequenceClassification.from_pretrained(out)
    assert model.config.id2label == {0: "negative", 1: "neutral", 2: "positive"}
    assert model.config.label2id == {"negative": 0, "neutral": 1, "positive": 2}
    assert AutoTokenizer.from_pretrained(out).model_max_length == 64
    card = (out / "README.md").read_text()
    assert "all-minilm" in card.lower() or str(minilm_dir) in card
    assert "fake:teacher@000" in card and f"{label_type} labels" in card and "git revision: `test`" in card
    d = s["data"]
    assert d["teacher_rows"] == 18 and d["used"] == 16 and d["train"] + d["heldout"] == 16
    assert d["excluded_parse_failed"]["no_json"] == 2
    assert 1 <= s["training"]["epochs_run"] <= 3 and s["heldout"]["macro_f1"] is not None
    assert json.loads((tmp_path / "m.json").read_text())["label_type"] == label_type
    assert not (tmp_path / "work").exists() or not any((tmp_path / "work").rglob("checkpoint-*"))
    clf = EncoderClassifier.load(out)
    p = clf.predict_proba(["great food", "rude waiter", "x " * 500], desc=None)
    assert p.shape == (3, 3) and all(math.isclose(float(r.sum()), 1.0, rel_tol=1e-5) for r in p)


def test_soft_label_type_without_soft_labels_says_what_to_set(tmp_path):
    from sentidistill.classifier.train import train_classifier

    write_parquet(labels_table(soft=False), tmp_path / "labels.parquet", labels_schema(LABELS))
    with pytest.raises(ValueError, match="soft_labels: true"):
        train_classifier(
            tmp_path / "labels.parquet",
            train_params(label_type="soft"),
            label_params(),
            out_dir=tmp_path / "o",
            metrics_path=tmp_path / "m.json",
            work_dir=tmp_path / "w",
        )
