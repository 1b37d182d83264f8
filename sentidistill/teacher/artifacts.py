"""Value sets of the teacher artifacts (shared by the code and ``schemas/teacher.py``)."""

from __future__ import annotations

#: "label_scores": no decoding, the label read from the teacher's next-token scores (teacher/scoring.py)
#: "error": the engine failed on the row after its retries (never in the cache; a rerun retries it)
FINISH_REASONS = ("stop", "length", "label_scores", "error")
CACHED_FINISH_REASONS = tuple(r for r in FINISH_REASONS if r != "error")
FLAGS = ("empty", "truncated", "teacher_error")
#: Reasons a row leaves the training set, in the order they are checked ("teacher_error"
#: always applies: such a row has no answer).
EXCLUDE_REASONS = ("teacher_error", "empty", "truncated", "parse_failed", "label_balance")
