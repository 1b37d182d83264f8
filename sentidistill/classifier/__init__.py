"""Classifier student (issue #7): the teacher labels corpus texts with a short rationale in a
structured (JSON) answer, a compact encoder (default all-MiniLM-L6-v2) is fine-tuned on those
labels (hard or soft), evaluated on the SentiBench polarity datasets next to the teacher and
the LLM students, and served by a batch prediction entry point.

Modules: :mod:`.config` (params), :mod:`.parse` (structured answers), :mod:`.labels` (teacher
labeling stage), :mod:`.soft` (teacher label probabilities), :mod:`.train` (fine-tuning),
:mod:`.evaluate` (SentiBench evaluation and the label mapping), :mod:`.report` (comparison
report and the exported model), :mod:`.predict` (batch prediction CLI).
"""
