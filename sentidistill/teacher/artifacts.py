"""Value sets of the teacher artifacts (shared by the code and ``schemas/teacher.py``)."""

from __future__ import annotations

#: "label_scores": no decoding, the label read from the teacher's next-token scores (teacher/scoring.py)
FINISH_REASONS = ("stop", "length", "label_scores")
FLAGS = ("empty", "truncated")
#: Reasons a row leaves the training set, in the order they are checked.
EXCLUDE_REASONS = ("empty", "truncated", "parse_failed", "label_balance")
