"""Value sets of the teacher artifacts (shared by the code and ``schemas/teacher.py``)."""

from __future__ import annotations

FINISH_REASONS = ("stop", "length")
FLAGS = ("empty", "truncated")
#: Reasons a row leaves the training set, in the order they are checked.
EXCLUDE_REASONS = ("empty", "truncated", "parse_failed", "label_balance")
