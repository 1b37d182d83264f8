"""Offline report page: plots render without a network, links are relative, all present files listed."""

from __future__ import annotations

import json
from pathlib import Path

from sentidistill.reports.index import Inputs, build_index


def _corpus() -> dict:
    dom = {"raw": 100, "rejected": 2, "exact_duplicates": 3, "near_duplicates": 1, "contaminated": 1, "kept": 93}
    return {"total": dom, "by_domain": {"yelp": dom}, "pools": {"knowdist": {"total": 6}, "icldist": {"total": 4}}}


def test_index_links_everything_present(tmp_path: Path):
    metrics, reports, plots = tmp_path / "metrics", tmp_path / "reports", tmp_path / "plots" / "training"
    (metrics / "sentibench").mkdir(parents=True)
    (metrics / "training").mkdir()
    plots.mkdir(parents=True)
    (metrics / "corpus.json").write_text(json.dumps(_corpus()))
    (metrics / "sentibench" / "base-student.json").write_text(
        json.dumps({"avg": 33.3, "categories": {"BSA": 50.0, "MSA": 40.0, "FSA": 10.0}, "datasets": {}})
    )
    (metrics / "training" / "knowdist.json").write_text(
        json.dumps({"global_step": 2, "first_loss": 3.1, "last_loss": 2.9})
    )
    live = tmp_path / "dvclive" / "knowdist" / "plots" / "metrics"
    live.mkdir(parents=True)
    (live / "loss.tsv").write_text("step\tloss\n0\t3.1\n1\t2.9\n")  # DVCLive's format
    reports.mkdir()
    (reports / "sentibench.md").write_text("# t\n")
    (reports / "sentibench_categories.png").write_bytes(b"\x89PNG")

    build_index(Inputs(tmp_path, metrics, reports, plots, live_dir=tmp_path / "dvclive"))
    for name in ("corpus_accounting", "training_loss"):
        assert (reports / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
        svg = (reports / f"{name}.svg").read_text()
        assert "<svg" in svg and "<script" not in svg
    md = (reports / "index.md").read_text()
    html = (reports / "index.html").read_text()
    for link in (
        "sentibench_categories.png",
        "training_loss.png",
        "corpus_accounting.png",
        "sentibench.md",
        "../metrics/corpus.json",
        "../metrics/training/knowdist.json",
    ):
        assert link in md and link in html
    assert "| base-student | 50.0 (n=0) | 40.0 (n=0) | 10.0 (n=0) | 33.3 | 0 |" in md
    assert "| **total** | 100 | 2 | 3 | 1 | 1 | 93 |" in md
    assert "http://" not in html and "https://" not in html and "<script" not in html


def test_index_before_anything_ran(tmp_path: Path):
    build_index(Inputs(tmp_path, tmp_path / "metrics", tmp_path / "reports", tmp_path / "none"))
    assert "not evaluated yet" in (tmp_path / "reports" / "index.md").read_text()
    assert (tmp_path / "reports" / "training_loss.png").exists()


def test_index_links_the_classifier_report(tmp_path: Path):
    metrics, reports, plots = tmp_path / "metrics", tmp_path / "reports", tmp_path / "plots" / "training"
    metrics.mkdir()
    reports.mkdir()
    (reports / "classifier.md").write_text("# c\n")
    (metrics / "classifier_comparison.json").write_text(
        json.dumps(
            {
                "matched_datasets": ["sst2"],
                "teacher_parse_failed": 3,
                "matched": {
                    "teacher (LLM, in-context)": {"sst2": {"f1": 90.0}, "avg": 90.0},
                    "mini (encoder student)": {"sst2": {"f1": 80.5}, "avg": 80.5},
                },
            }
        )
    )
    build_index(Inputs(tmp_path, metrics, reports, plots))
    md = (reports / "index.md").read_text()
    assert "## Classifier student (encoder)" in md and "(classifier.md)" in md
    assert "| mini (encoder student) | 80.5 | 80.5 |" in md and "failed to parse: 3" in md
    assert "sst2 (n=?)" in md  # no n recorded: said, not hidden
    assert 'href="classifier.md"' in (reports / "index.html").read_text()


def test_numbers_carry_their_n_and_few_examples_are_marked_in_both_files(tmp_path: Path):
    """Cells used to read 0.00 / 100.00 from one example with nothing to say so; the HTML had no
    per-dataset table and showed code spans with literal backticks."""
    metrics, reports = tmp_path / "metrics", tmp_path / "reports"
    (metrics / "sentibench").mkdir(parents=True)
    ds = {"sst2": {"f1": 81.4, "n_examples": 120}, "imdb": {"f1": 100.0, "n_examples": 1}}
    (metrics / "sentibench" / "student.json").write_text(
        json.dumps({"avg": 90.7, "categories": {"BSA": 90.7}, "datasets": ds})
    )
    build_index(Inputs(tmp_path, metrics, reports, tmp_path / "none"))
    md = (reports / "index.md").read_text()
    html = (reports / "index.html").read_text()
    assert "| sst2 | BSA | 81.4 (n=120) |" in md and "| imdb | BSA | 100.0 (n=1)† |" in md
    assert "fewer than 30 examples" in md and "90.7 (n=121)†" in md
    assert "<td>100.0 (n=1)†</td>" in html and "<th>dataset</th>" in html  # the per-dataset table, rendered
    assert "<code>report_index</code>" in html and "`" not in html.split("<body>")[1]
