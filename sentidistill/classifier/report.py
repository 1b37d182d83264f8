"""Stage logic of ``classifier_report``: the comparison report ``reports/classifier.md``, its
metrics JSON, and the exported model folder whose card carries the SentiBench table.

Like with like: the LLMs (teacher, base and distilled students) were evaluated in-context on
a seeded subsample of each test split (``sentibench.eval``); the encoders are compared on
exactly those examples (the example ids in ``data/sentibench_eval/<entry>/predictions.parquet``;
encoders are seed-independent, the LLM scores are means over their seeds, as in
``stats/sentibench/<entry>.json``). The encoders' scores on the full test splits follow in a
second table. An LLM entry without predictions is reported as missing, with the command that
produces it.
"""

from __future__ import annotations

import shutil
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from sentidistill.classifier.evaluate import STUDENT, UNTRAINED
from sentidistill.classifier.train import CARD, SUMMARY, model_card
from sentidistill.headline import write_stats
from sentidistill.io import atomic_folder, read_json, read_parquet, write_text
from sentidistill.log import get_logger
from sentidistill.models.card import CardParams, front_matter, model_index
from sentidistill.schemas.classifier import PREDICTIONS
from sentidistill.schemas.sentibench_datasets import get_spec
from sentidistill.sentibench.metrics import classification_scores

log = get_logger(__name__)

LLM_PREDICTIONS = "predictions.parquet"


def load_llm_predictions(
    eval_dir: Path, entries: Sequence[str], datasets: Sequence[str]
) -> tuple[dict[str, pl.DataFrame], dict[str, str]]:
    """({entry: predictions on ``datasets``}, {entry: why it is missing})."""
    found, missing = {}, {}
    for entry in entries:
        path = eval_dir / entry / LLM_PREDICTIONS
        if not path.is_file():
            missing[entry] = f"no {_shown(path)} (run `dvc repro sentibench_eval@{entry}`; is it in sentibench.models?)"
            continue
        df = pl.read_parquet(path).filter(pl.col("dataset").is_in(list(datasets)))
        if df.height == 0:
            missing[entry] = f"{_shown(path)} has none of {list(datasets)} (sentibench.eval.datasets)"
            continue
        found[entry] = df
    return found, missing


def matched_ids(llm: Mapping[str, pl.DataFrame], datasets: Sequence[str]) -> dict[str, list[str]]:
    """Per dataset: the example ids every LLM entry that evaluated the dataset has (sorted)."""
    out = {}
    for ds in datasets:
        sets = [set(df.filter(pl.col("dataset") == ds)["example_id"].to_list()) for df in llm.values()]
        sets = [s for s in sets if s]
        if sets:
            out[ds] = sorted(set.intersection(*sets))
    return out


def llm_scores(df: pl.DataFrame, ids: Mapping[str, list[str]]) -> dict[str, dict[str, Any]]:
    """Macro-F1 (%) per dataset on ``ids``: per seed, then the mean over seeds."""
    out = {}
    for ds, keep in ids.items():
        sub = df.filter((pl.col("dataset") == ds) & pl.col("example_id").is_in(keep))
        if sub.height == 0:
            continue
        per_seed = []
        for (_,), g in sub.group_by("seed", maintain_order=True):
            per_seed.append(100 * classification_scores(g["gold"].to_list(), g["prediction"].to_list()).macro_f1)
        out[ds] = {
            "f1": round(statistics.fmean(per_seed), 4),
            "n": sub["example_id"].n_unique(),
            "seeds": len(per_seed),
        }
    return out


def encoder_scores(preds: pl.DataFrame, model: str, ids: Mapping[str, list[str]] | None) -> dict[str, dict[str, Any]]:
    """Macro-F1 (%) per dataset of one encoder, on ``ids`` (None = every example it has)."""
    out = {}
    sub = preds.filter(pl.col("model") == model)
    for (ds,), g in sub.group_by("dataset", maintain_order=True):
        if ids is not None:
            if ds not in ids:
                continue
            g = g.filter(pl.col("example_id").is_in(ids[ds]))
        if g.height == 0:
            continue
        s = classification_scores(g["gold"].to_list(), g["prediction"].to_list())
        out[ds] = {"f1": round(100 * s.macro_f1, 4), "accuracy": round(100 * s.accuracy, 4), "n": g.height}
    return out


def _avg(row: Mapping[str, Any], datasets: Sequence[str]) -> float | None:
    vals = [row[d]["f1"] for d in datasets if d in row]
    return round(statistics.fmean(vals), 4) if vals and len(vals) == len(datasets) else None


def _fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.2f}"


def _table(rows: Mapping[str, Mapping[str, Any]], datasets: Sequence[str], n_of: Mapping[str, int]) -> str:
    head = ["model", *(f"{get_spec(d).display} (n={n_of.get(d, 0)})" for d in datasets), "Avg"]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for name, row in rows.items():
        cells = [_fmt(row[d]["f1"]) if d in row else "–" for d in datasets]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {_fmt(_avg(row, datasets))} |")
    return "\n".join(lines) + "\n"


def build_comparison(
    *,
    encoder_preds: pl.DataFrame,
    datasets: Sequence[str],
    compare: Sequence[str],
    eval_dir: Path,
    student_name: str,
) -> dict[str, Any]:
    """Scores of every model on the matched examples and of the encoders on all of theirs."""
    llm, missing = load_llm_predictions(eval_dir, compare, datasets)
    ids = matched_ids(llm, datasets)
    names = {STUDENT: f"{student_name} (encoder student)", UNTRAINED: "untrained encoder"}
    matched: dict[str, dict[str, Any]] = {}
    for entry, df in llm.items():
        matched[f"{entry} (LLM, in-context)"] = llm_scores(df, ids)
    for model, label in names.items():
        matched[label] = encoder_scores(encoder_preds, model, ids)
    full = {label: encoder_scores(encoder_preds, model, None) for model, label in names.items()}
    common = [d for d in datasets if d in ids]
    return {
        "datasets": list(datasets),
        "matched_datasets": common,
        "matched_n": {d: len(v) for d, v in ids.items()},
        "matched": {k: {**v, "avg": _avg(v, common)} for k, v in matched.items()},
        "full": {k: {**v, "avg": _avg(v, list(datasets))} for k, v in full.items()},
        "full_n": {d: v["n"] for d, v in next(iter(full.values())).items()} if full else {},
        "compared": list(llm),
        "missing": missing,
        "seeds": {e: sorted(df["seed"].unique().to_list()) for e, df in llm.items()},
    }


def _shown(path: Path) -> str:
    from sentidistill.paths import ROOT

    try:
        return Path(path).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return Path(path).as_posix()


def sentibench_section(comp: Mapping[str, Any], eval_metrics: Mapping[str, Any] | None, level: str = "##") -> str:
    """The two comparison tables (matched examples, full test splits) and the label mapping."""
    ds = comp["datasets"]
    md = [f"{level} Same test examples as the LLM evaluation\n\n"]
    if comp["compared"]:
        seeds = "; ".join(f"{e}: seeds {s}" for e, s in comp["seeds"].items())
        md.append(
            "The encoders scored on exactly the examples the in-context LLM evaluation used "
            f"(`data/sentibench_eval/<entry>/predictions.parquet`); LLM scores are means over seeds ({seeds}). "
            "Encoders need no demonstrations and are seed-independent.\n\n"
        )
        md.append(_table(comp["matched"], comp["matched_datasets"], comp["matched_n"]))
        small = [d for d, n in comp["matched_n"].items() if n < 50]
        if small:
            sizes = ", ".join(f"{get_spec(d).display}: {comp['matched_n'][d]}" for d in small)
            md.append(
                f"\nFew examples per dataset ({sizes}): differences of several points are noise at this size; "
                "the full test splits below are the reliable encoder numbers (raise "
                "`sentibench.eval.max_test_examples` for tighter LLM numbers).\n"
            )
    else:
        md.append("_No LLM predictions to compare with._\n")
    if comp["missing"]:
        md.append("\nMissing LLM evaluations:\n\n" + "".join(f"- `{e}`: {why}\n" for e, why in comp["missing"].items()))
    full = eval_metrics is None or eval_metrics.get("full_test_splits", True)
    md.append(
        f"\n{level} Encoders on the {'full test splits' if full else 'test subsamples (classifier.eval.max_test_examples)'}\n\n"
    )
    md.append(_table(comp["full"], ds, comp["full_n"]))
    if eval_metrics:
        m = eval_metrics.get("mapping", {})
        md.append(
            "\nLabel mapping (classifier label -> dataset label; unmapped labels are ignored, so the binary "
            "datasets take the argmax over negative/positive only):\n\n"
            + "".join(
                f"- {get_spec(d).display} ({get_spec(d).name}): "
                + ", ".join(f"{c} -> {t}" for c, t in m[d].items())
                + "\n"
                for d in ds
                if d in m
            )
            + f"\nMax tokens per text: {eval_metrics.get('max_length')}. The untrained encoder is the base encoder "
            f"with a random classification head (seed {eval_metrics.get('untrained_seed')}).\n"
        )
    return "".join(md)


def render_markdown(
    comp: Mapping[str, Any],
    labels: Mapping[str, Any] | None,
    train: Mapping[str, Any] | None,
    eval_metrics: Mapping[str, Any] | None,
) -> str:
    md = [
        "# Classifier student: LLM teacher -> compact encoder\n\n",
        "Produced by the `classifier_report` DVC stage (docs/classifier.md). Macro-F1 (%), the SentiBench metric.\n\n",
    ]
    md.append(sentibench_section(comp, eval_metrics))
    if labels:
        errs = {k: v for k, v in labels.get("parse_errors", {}).items() if v}
        soft = labels.get("soft_labels", {})
        thr = labels.get("throughput", {})
        md.append("\n## Teacher labels (`classifier_labels`)\n\n")
        md.append(
            f"- texts labeled: {labels['rows']}; parsed: {labels['labeled']}; **failed to parse: {labels['parse_failed']}**"
            + (f" ({', '.join(f'{k}: {v}' for k, v in errs.items())})" if errs else "")
            + "; kept in `data/classifier/teacher_labels.parquet` with their raw answers, excluded from training\n"
            f"- how labels were read: {labels.get('parse_methods')}; answers without a rationale: {labels.get('missing_rationale')}\n"
            f"- label distribution: {labels.get('labels')}\n"
            + (
                f"- soft labels: {soft.get('with_probs')} rows with teacher probabilities (modes {soft.get('modes')}); "
                f"their argmax agrees with the parsed label on {soft.get('argmax_agrees_with_label')}\n"
                if soft.get("enabled")
                else "- soft labels: off\n"
            )
            + (
                f"- teacher throughput: {thr.get('texts_per_s')} texts/s ({thr.get('generated_texts')} generated in "
                f"{thr.get('generation_seconds')} s; the rest from the cache)\n"
                if thr.get("generated_texts")
                else "- teacher throughput: every answer came from the cache in this run\n"
            )
        )
    else:
        md.append("\n## Teacher labels\n\n_stats/classifier_labels.json not found._\n")
    if train:
        d, t, h = train["data"], train["training"], train["heldout"]
        md.append("\n## Training (`classifier_train`)\n\n")
        md.append(
            f"- base encoder `{train['base_model']}`, {train['label_type']} labels, {d['train']} train + {d['heldout']} "
            f"held-out rows ({sum(d['excluded_parse_failed'].values())} unparsed answers excluded)\n"
            f"- {t['epochs_run']} epoch(s), best epoch {t['best_epoch']} by held-out `{t['best_metric']}`, {t['train_seconds']} s\n"
            f"- held-out agreement with the teacher: macro-F1 {h['macro_f1']}, accuracy {h['accuracy']} (n={h['n']})\n"
        )
    md.append(
        "\nThroughput (encoder vs the distilled LLM student, teacher labeling): `python -m bench.classifier_throughput` "
        "writes `bench/results/classifier_throughput.json`.\n"
    )
    return "".join(md)


def card_front_matter(
    summary: Mapping[str, Any], eval_metrics: Mapping[str, Any] | None, card: CardParams, name: str
) -> str:
    """Hub metadata of the exported encoder: its upstream, license, datasets and a model-index
    with the encoder student's macro-F1 on the full SentiBench test splits."""
    upstream = card.upstream.get(summary.get("base_model", ""))
    student = ((eval_metrics or {}).get("models") or {}).get(STUDENT) or {}
    results = {
        k: {"display": get_spec(k).name, "f1": d.get("f1"), "n_examples": d.get("n_examples")}
        for k, d in (student.get("datasets") or {}).items()
    }
    return front_matter(
        {
            "base_model": upstream.hub_id if upstream else summary.get("base_model"),
            "base_model_relation": "finetune",
            "library_name": "transformers",
            "pipeline_tag": "text-classification",
            "license": upstream.license if upstream else card.license,
            "language": card.language,
            "datasets": card.datasets,
            "tags": card.tags,
            "model-index": model_index(name, results, task_type="text-classification", how="SentiBench test split"),
        }
    )


def export_model(student_dir: Path, out_dir: Path, sentibench_md: str, front: str | None = None) -> Path:
    """Copy the trained folder to ``out_dir`` with a model card that carries the SentiBench tables."""
    summary = read_json(student_dir / SUMMARY, default=None)
    if summary is None:
        raise FileNotFoundError(f"{student_dir / SUMMARY} not found: run `dvc repro classifier_train` first")
    with atomic_folder(out_dir) as work:  # the previous export stays until the new one is complete
        shutil.copytree(student_dir, work, dirs_exist_ok=True)
        write_text(work / CARD, model_card(summary, sentibench_md, front))
    return out_dir


def run_report(
    *,
    datasets: Sequence[str],
    compare: Sequence[str],
    student_name: str,
    predictions_path: Path,
    eval_dir: Path,
    eval_metrics_path: Path,
    labels_metrics_path: Path,
    train_metrics_path: Path,
    student_dir: Path,
    report_path: Path,
    metrics_path: Path,
    export_dir: Path | None,
    card: CardParams | None = None,
) -> dict[str, Any]:
    preds = read_parquet(predictions_path, PREDICTIONS)
    comp = build_comparison(
        encoder_preds=preds, datasets=datasets, compare=compare, eval_dir=eval_dir, student_name=student_name
    )
    labels = read_json(labels_metrics_path, default=None)
    train = read_json(train_metrics_path, default=None)
    evalm = read_json(eval_metrics_path, default=None)
    md = render_markdown(comp, labels, train, evalm)
    write_text(report_path, md)
    comp["teacher_parse_failed"] = labels.get("parse_failed") if labels else None
    write_stats(metrics_path, comp)
    if export_dir is not None:
        summary = read_json(student_dir / SUMMARY, default=None) or {}
        front = card_front_matter(summary, evalm, card, export_dir.name) if card is not None else None
        export_model(student_dir, export_dir, sentibench_section(comp, evalm, level="###"), front)
    for e, why in comp["missing"].items():
        log.warning("classifier report: %s missing: %s", e, why)
    log.info("classifier report -> %s", report_path)
    return comp
