"""export_student: a copy of the final student whose model card holds the SentiBench table."""

from __future__ import annotations

import json

from sentidistill.training.export import export_student
from sentidistill.training.sft import copy_model_folder


def _res(avg):
    return {"datasets": {"sst2": {"f1": avg, "n_examples": 4, "n_seeds": 3}}, "categories": {"BSA": avg}, "avg": avg}


def test_export_writes_card_with_table(tmp_path, tiny_llama):
    from transformers import AutoModelForCausalLM

    src = tmp_path / "student-icldist"
    copy_model_folder(tiny_llama / "hf", src, {"name": "student-icldist", "stage": "icldist", "mode": "two_stage",
                                               "base_model": "tiny-llama", "started_from": "student-knowdist",
                                               "trained": True, "git_revision": "abc", "teacher": "t"})
    out = tmp_path / "sentidistill-student"
    results = {"base-student": _res(40.0), "distilled-student": _res(52.5)}
    export_student(src, out, results, "base-student")
    card = (out / "hf" / "README.md").read_text()
    assert "## SentiBench" in card and "| distilled-student |" in card and "(+12.50)" in card
    man = json.loads((out / "manifest.json").read_text())
    assert man["exported_from"] == "student-icldist" and man["sentibench"]["distilled-student"]["avg"] == 52.5
    AutoModelForCausalLM.from_pretrained(out / "hf")
