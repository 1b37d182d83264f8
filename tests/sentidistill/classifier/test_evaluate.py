"""The SentiBench label mapping with hand-made probabilities: binary datasets restrict the
argmax to the mapped labels, many-to-one mappings add up, bad mappings are clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from sentidistill.classifier.config import ClassifierEvalParams
from sentidistill.classifier.evaluate import MappingError, map_probs
from sentidistill.params import ParamsError, load_params, parse_section

CLS = ["negative", "neutral", "positive"]
BINARY = {"negative": "negative", "positive": "positive"}


def test_binary_dataset_never_predicts_neutral():
    probs = np.array(
        [
            [0.2, 0.7, 0.1],  # neutral wins overall, negative wins among the mapped
            [0.1, 0.5, 0.4],
            [0.45, 0.1, 0.45],
        ]
    )  # tie -> first dataset label (argmax order)
    preds, scores = map_probs(probs, CLS, BINARY, ["negative", "positive"])
    assert preds == ["negative", "positive", "negative"]
    assert scores.shape == (3, 2) and scores[0].tolist() == pytest.approx([0.2, 0.1])


def test_three_way_dataset_and_label_order():
    probs = np.array([[0.2, 0.7, 0.1], [0.1, 0.2, 0.7]])
    # twitter lists its labels as (negative, positive, neutral): scores follow the dataset's order
    preds, scores = map_probs(probs, CLS, {c: c for c in CLS}, ["negative", "positive", "neutral"])
    assert preds == ["neutral", "positive"] and scores[0].tolist() == pytest.approx([0.2, 0.1, 0.7])


def test_many_to_one_mapping_sums():
    five = ["very negative", "negative", "neutral", "positive", "very positive"]
    probs = np.array([[0.3, 0.3, 0.0, 0.35, 0.05]])
    m = {"very negative": "negative", "negative": "negative", "positive": "positive", "very positive": "positive"}
    preds, scores = map_probs(probs, five, m, ["negative", "positive"])
    assert preds == ["negative"] and scores[0].tolist() == pytest.approx([0.6, 0.4])


def test_mapping_errors():
    with pytest.raises(MappingError, match="does not have"):
        map_probs(np.zeros((1, 3)), CLS, {"joy": "positive"}, ["negative", "positive"])
    with pytest.raises(MappingError, match="not dataset labels"):
        map_probs(np.zeros((1, 3)), CLS, {"neutral": "neutral"}, ["negative", "positive"])


def test_params_check_the_mapping_against_the_dataset():
    base = dict(load_params()["classifier"]["eval"])
    ok = parse_section("classifier.eval", base, ClassifierEvalParams)
    assert ok.datasets["sst2"] == BINARY and "neutral" in ok.datasets["twitter"]
    for bad, msg in [
        ({"sst2": {"negative": "negative"}}, "no classifier label maps to"),
        ({"sst2": {**BINARY, "neutral": "neutral"}}, "not labels of sst2"),
        ({"atsa": BINARY}, "not a SentiBench classification dataset"),
    ]:
        with pytest.raises(ParamsError, match=msg):
            parse_section("classifier.eval", {**base, "datasets": bad}, ClassifierEvalParams)
