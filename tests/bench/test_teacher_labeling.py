"""The cascade arithmetic of bench/teacher_labeling.py (the bench itself needs the teacher)."""

import math

from bench.teacher_labeling import THRESHOLDS, cascade_curve


def _scores(p: list[float]) -> list[float]:
    return [math.log(x) for x in p]


def test_cascade_falls_back_on_uncertain_texts_and_counts_their_cot_time():
    scores = [_scores([0.9, 0.05, 0.05]), _scores([0.45, 0.35, 0.2]), _scores([0.6, 0.3, 0.1])]
    labels = ["positive", "positive", "positive"]
    cot = ["positive", "negative", None]  # the third answer did not parse: it is not compared
    curve = {pt["threshold"]: pt for pt in cascade_curve(scores, labels, cot, [3.0, 3.0, 3.0], base_seconds=1.5)}
    assert set(curve) == set(THRESHOLDS)
    assert curve[0.0] == {"threshold": 0.0, "fallback_share": 0.0, "agreement": 0.5, "ratio": 6.0}
    # 0.5: only the 0.45 text falls back -> it now agrees; time 1.5 + 3.0
    assert curve[0.5]["fallback_share"] == round(1 / 3, 4)
    assert curve[0.5]["agreement"] == 1.0 and curve[0.5]["ratio"] == 2.0
    # everything falls back: agreement 1, slower than the CoT alone by the scoring time
    assert curve[1.01]["fallback_share"] == 1.0 and curve[1.01]["ratio"] == round(9.0 / 10.5, 3)
