"""Export the final student as a Hugging Face model folder, with GGUF files for llama.cpp/Ollama.

``models/student-icldist`` is the ``train_icldist`` output, so the evaluation cannot write into
it; ``export_student`` publishes its weights as ``models/sentidistill-student/``:

* the transformers files at the top (``from_pretrained("models/sentidistill-student")``), a
  model card (``README.md``) whose front matter follows the hub's spec -- ``base_model``,
  ``datasets``, ``license``, ``language``, ``pipeline_tag``, ``tags``, a ``model-index`` with the
  SentiBench results -- and whose text has the usage snippet in the exact prompt format the
  student was trained and evaluated in, the SentiBench table (n and seeds per model) and the
  paired comparison with its interval;
* ``gguf/``: the full-precision GGUF, its quantized variants and an Ollama ``Modelfile``
  (:mod:`sentidistill.models.gguf`: llama.cpp's converter and quantizer);
* ``manifest.json``: the pipeline's record (lineage, training data, files).
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from sentidistill import paths
from sentidistill.io import atomic_folder, write_text
from sentidistill.models.card import CardParams, front_matter, gguf_origin, model_index
from sentidistill.models.folder import CARD, FLAT, HF_DIR, MANIFEST, list_files, load_manifest, write_manifest
from sentidistill.models.gguf import MODELFILE, GGUFParams, export_gguf
from sentidistill.params import StrictModel

GGUF_DIR = "gguf"


class ExportParams(StrictModel):
    """``export`` in params.yaml (``datasets``: stage ``export_datasets``, its own model)."""

    gguf: GGUFParams = GGUFParams()
    card: CardParams = CardParams()
    datasets: dict[str, Any] = {}


def load_results(metrics_dir: Path, entries: list[str]) -> dict[str, dict[str, Any]]:
    """``stats/sentibench/<entry>.json`` of the entries that have been evaluated."""
    out = {}
    for e in entries:
        p = metrics_dir / f"{e}.json"
        if p.is_file():
            out[e] = json.loads(p.read_text(encoding="utf-8"))
    return out


def _n_and_seeds(res: Mapping[str, Any]) -> str:
    """``n`` per dataset and the seeds of one model's evaluation, as the metrics file says."""
    cfg = res.get("config") or {}
    n = {k: v.get("n_examples") for k, v in (res.get("datasets") or {}).items()}
    sizes = sorted(set(n.values()), key=lambda x: x or 0)
    n_text = f"{sizes[0]} per dataset" if len(sizes) == 1 else ", ".join(f"{k} {v}" for k, v in n.items())
    return f"n = {n_text}; seeds {cfg.get('seeds', '?')}; {_shots(cfg)}"


def _shots(cfg: Mapping[str, Any]) -> str:
    shots = cfg.get("shots")
    if isinstance(shots, Mapping):
        kinds = sorted(set(shots.values()))
        return f"{kinds[0]} shots" if len(kinds) == 1 else "shots " + ", ".join(f"{k} {v}" for k, v in shots.items())
    return f"{shots} shots"


def sentibench_section(
    results: Mapping[str, Mapping[str, Any]], baseline: str | None, comparison: Mapping[str, Any] | None, min_n: int
) -> str:
    from sentidistill.sentibench.report import table2_markdown

    if not results:
        return "No SentiBench results found (run `dvc repro sentibench_report`).\n"
    lines = [
        f"In-context macro-F1 (%) on SentiBench, deltas vs `{baseline}` in parentheses. "
        "The models were not all evaluated on the same number of examples:",
        "",
    ]
    lines += [f"- `{name}`: {_n_and_seeds(res)}" for name, res in results.items()]
    lines += [
        "",
        table2_markdown(results, baseline=baseline, min_n=min_n),
        f"† fewer than {min_n} test examples: such a cell says little (0.00 or 100.00 from one example).",
        "",
    ]
    if comparison and comparison.get("mean"):
        m, conf = comparison["mean"], comparison.get("confidence", 0.95)
        n = sum(d.get("n_examples", 0) for d in comparison.get("datasets", {}).values())
        interval = (
            f"[{m['ci_low']:+.2f}, {m['ci_high']:+.2f}] ({conf:.0%} paired bootstrap, {comparison.get('resamples')} resamples)"
            if m.get("ci_low") is not None
            else f"(no interval: too few test examples, fewer than {min_n} in a dataset, to conclude anything)"
        )
        lines += [
            f"Paired comparison `{comparison.get('model')}` vs `{comparison.get('baseline')}` on the same "
            f"test examples ({m.get('n_datasets')} classification datasets, n = {n}): mean macro-F1 "
            f"{m['baseline_f1']:.2f} -> {m['model_f1']:.2f}, delta **{m['delta']:+.2f}** {interval}.",
            "",
        ]
    return "\n".join(lines)


def usage_snippet(folder_name: str, prompt_text: str) -> str:
    """How to prompt the student: the SentiBench prompt format, built by the evaluation's own code."""
    from sentidistill.schemas.sentibench_datasets import get_spec
    from sentidistill.sentibench.prompts import build_prompt

    spec = get_spec("sst2")
    demos = [
        {
            "sentence": "a domestic melodrama with weak dialogue and biopic cliches .",
            "label_text": "negative",
            "label_text_code": "negative",
        },
        {
            "sentence": "steers refreshingly clear of the usual cliches .",
            "label_text": "positive",
            "label_text_code": "positive",
        },
    ]
    prompt = build_prompt(spec, demos, {"sentence": "the food was cold and the waiter never came back ."}, prompt_text)
    return "\n".join(
        [
            "Trained and evaluated **without** a chat template, on few-shot prompts in SentiBench's format: "
            "prompt it the same way, decode greedily and read the label after `Label:`.",
            "",
            "```python",
            "from transformers import AutoModelForCausalLM, AutoTokenizer",
            "",
            f'path = "{folder_name}"  # this folder',
            "tok, model = AutoTokenizer.from_pretrained(path), AutoModelForCausalLM.from_pretrained(path)",
            f"prompt = {prompt!r}",
            'ids = tok(prompt, return_tensors="pt")',
            "out = model.generate(**ids, max_new_tokens=3, do_sample=False)",
            'print(tok.decode(out[0, ids.input_ids.shape[1]:], skip_special_tokens=True).split("\\n")[0].strip())',
            "```",
            "",
        ]
    )


def gguf_section(entry: Mapping[str, Any] | None, name: str) -> str:
    if not entry:
        return "GGUF export is off (`export.gguf.enabled: false`).\n"
    rows = "\n".join(
        f"| `{GGUF_DIR}/{f['path']}` | {v} | {f['bytes'] / 2**20:.0f} MiB |" for v, f in entry["files"].items()
    )
    return (
        f"Converted by llama.cpp's `convert_hf_to_gguf.py` and quantized by `llama_model_quantize` "
        f"(llama-cpp-python {entry['llama_cpp_python']}).\n\n| file | type | size |\n|---|---|---|\n{rows}\n\n"
        f"Ollama: `ollama create {name} -f {GGUF_DIR}/{MODELFILE}` (points at the "
        f"`{entry['ollama_variant']}` file, raw prompts, greedy). llama.cpp: "
        f"`llama-cli -m {GGUF_DIR}/{entry['files'][entry['ollama_variant']]['path']} --temp 0 -f prompt.txt`. "
        "`sentidistill eval --model <file>.gguf` scores a file on SentiBench; `python -m bench.gguf_export` "
        "measures each file's label agreement with the transformers weights.\n"
    )


def model_card(
    manifest: Mapping[str, Any],
    *,
    card: CardParams,
    base_origin: str | None,
    sentibench_md: str,
    model_results: Mapping[str, Any] | None,
    gguf_md: str,
    usage_md: str,
    min_n: int,
) -> str:
    """The card: hub metadata + what the model is, how to prompt it and what it scores."""
    from sentidistill.schemas.sentibench_datasets import get_spec

    base = manifest["base_model"]
    upstream = card.upstream.get(base)
    teacher = manifest.get("teacher")
    teacher_up = card.upstream.get(teacher) if teacher else None
    # model-index: only results that rest on at least min_n test examples
    bench = {
        k: {"display": get_spec(k).name, "f1": v.get("f1"), "n_examples": v.get("n_examples")}
        for k, v in ((model_results or {}).get("datasets") or {}).items()
        if (v.get("n_examples") or 0) >= min_n
    }
    meta = {
        "base_model": upstream.hub_id if upstream else base,
        "base_model_relation": "finetune",
        "library_name": "transformers",
        "pipeline_tag": "text-generation",
        "license": card.license,
        "language": card.language,
        "datasets": card.datasets,
        "tags": card.tags,
        "model-index": model_index(
            manifest["name"], bench, task_type="text-classification", how="in-context, SentiBench prompts"
        ),
    }
    data = manifest.get("data") or {}
    hp = manifest.get("hparams") or {}
    prec = manifest.get("precision")
    lines = [
        front_matter(meta).rstrip("\n"),
        f"# {manifest['name']}",
        "",
        "Student model of *Targeted Distillation for Sentiment Analysis* (Zhang et al., EMNLP 2025), built by "
        f"the sentidistill DVC pipeline: stage `{manifest['stage']}`, mode `{manifest['mode']}`.",
        "",
        f"- base model: `{upstream.hub_id if upstream else base}`"
        + (f" (license {upstream.license})" if upstream else "")
        + (
            f". The weights it was fine-tuned from were **dequantized from {base_origin}**, not the original "
            "bf16 checkpoint"
            if base_origin
            else ""
        ),
        f"- teacher: `{teacher_up.hub_id if teacher_up else teacher}`",
        f"- lineage: {' -> '.join(manifest.get('lineage', []))}",
        f"- training rows: {data.get('rows_trained', data.get('rows_used', 0))} ("
        + ", ".join(f"{c}: {s['used']} of {s['rows']} corpus rows" for c, s in (data.get("corpora") or {}).items())
        + ")",
        *([f"- precision: {prec['used']} ({prec['requested']}: {prec['reason']})"] if prec else []),
        f"- git revision: `{manifest.get('git_revision')}`",
        "",
        "## Usage",
        "",
        usage_md,
        "## SentiBench",
        "",
        sentibench_md,
        "## GGUF (llama.cpp, Ollama)",
        "",
        gguf_md,
        "## Training parameters",
        "",
        "| parameter | value |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in hp.items()],
        "",
    ]
    return "\n".join(lines)


def export_student(
    src_root: Path,
    out_root: Path,
    *,
    results: Mapping[str, Mapping[str, Any]],
    baseline: str | None,
    comparison: Mapping[str, Any] | None,
    model_entry: str | None,
    params: ExportParams,
    prompt_text: str,
    models_dir: Path,
    min_n: int,
) -> dict[str, Any]:
    """``src_root`` (``hf/`` + manifest) -> a flat HF folder ``out_root`` (+ ``gguf/``), atomically."""
    manifest = {k: v for k, v in load_manifest(src_root).items() if k not in ("files", "hf_dir", "gguf")}
    manifest.update(
        name=out_root.name,
        exported_from=src_root.name,
        sentibench_entry=model_entry,
        sentibench={k: {"avg": v.get("avg"), "categories": v.get("categories")} for k, v in results.items()},
    )
    with atomic_folder(out_root) as tmp:  # a kill never leaves a half folder or a half card
        shutil.copytree(src_root / HF_DIR, tmp, ignore=shutil.ignore_patterns(CARD), dirs_exist_ok=True)
        gguf_entry = None
        if params.gguf.enabled:
            gguf_entry = export_gguf(
                tmp, tmp / GGUF_DIR, out_root.name, params.gguf, chat_template=bool(manifest.get("chat_template"))
            )
        card = model_card(
            manifest,
            card=params.card,
            base_origin=gguf_origin(models_dir / manifest["base_model"]),
            sentibench_md=sentibench_section(results, baseline, comparison, min_n),
            min_n=min_n,
            model_results=results.get(model_entry) if model_entry else None,
            gguf_md=gguf_section(gguf_entry, out_root.name),
            usage_md=usage_snippet(f"models/{out_root.name}", prompt_text),
        )
        write_text(tmp / CARD, card)
        # "gguf": the file llama.cpp loads for this model (models.store), "gguf_export": what was exported
        manifest.update(
            hf_dir=FLAT,
            gguf_export=gguf_entry,
            gguf=f"{GGUF_DIR}/{gguf_entry['files'][gguf_entry['ollama_variant']]['path']}" if gguf_entry else None,
            files=list_files(tmp),
        )
        write_manifest(tmp, manifest)
    return manifest


DEFAULT_EXPORTS = Path("exports")


class _EvaluatedModel(BaseModel):
    """An entry of ``sentibench.models`` as far as an export reads it (``sentibench_eval`` validates the rest)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    model: str


class _EvaluatedModels(BaseModel):
    """The ``sentibench.models`` of the ``sentibench`` group (its other keys belong to other stages)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    models: dict[str, _EvaluatedModel] = {}


@dataclass(frozen=True)
class ExportConfig:
    """What an export reads from params.yaml, validated: ``export`` and the SentiBench settings its card uses."""

    params: ExportParams
    evaluated: dict[str, str]  # sentibench.models: entry -> the model it evaluates
    baseline: str | None  # sentibench.report.baseline
    prompt_text: str  # sentibench.eval.prompt_text
    min_n: int  # sentibench.compare.min_examples

    @classmethod
    def load(cls) -> ExportConfig:
        from sentidistill.params import load_section
        from sentidistill.sentibench.compare import CompareParams
        from sentidistill.sentibench.evaluate import EvalParams
        from sentidistill.sentibench.report import ReportParams

        models = load_section("sentibench", _EvaluatedModels).models
        return cls(
            params=load_section("export", ExportParams),
            evaluated={entry: spec.model for entry, spec in models.items()},
            baseline=load_section("sentibench.report", ReportParams).baseline,
            prompt_text=load_section("sentibench.eval", EvalParams).prompt_text,
            min_n=load_section("sentibench.compare", CompareParams).min_examples,
        )


def export_evaluated(
    source: Path, target: Path, config: ExportConfig, *, stats_dir: Path, models_dir: Path
) -> dict[str, Any]:
    """Export ``source`` (a pipeline-built student, ``hf/`` + manifest) to ``target`` with the SentiBench
    results in ``stats_dir`` of every evaluated entry (the entry that evaluated ``source`` is this model's,
    for the card's model-index)."""
    if not (source / MANIFEST).is_file():
        raise FileNotFoundError(
            f"{source} has no {MANIFEST}: build it first (`dvc repro train_icldist` for "
            "models/student-icldist, `dvc repro train_knowdist` for models/student-knowdist)"
        )
    model_entry = next((e for e, model in config.evaluated.items() if model == source.name), None)
    comparison_path = stats_dir / "comparison.json"
    comparison = json.loads(comparison_path.read_text(encoding="utf-8")) if comparison_path.is_file() else None
    if comparison and comparison.get("model") != model_entry:
        comparison = None  # the main job's comparison is about another model
    return export_student(
        source,
        target,
        results=load_results(stats_dir, list(config.evaluated)),
        baseline=config.baseline,
        comparison=comparison,
        model_entry=model_entry,
        params=config.params,
        prompt_text=config.prompt_text,
        models_dir=models_dir,
        min_n=config.min_n,
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(
        prog="python -m sentidistill.training.export",
        description="Export a student (models/student-*) as a hub-style folder with GGUF "
        "files, an Ollama Modelfile and a model card, outside the DVC graph.",
    )
    ap.add_argument(
        "--model", required=True, type=Path, help="a student folder the pipeline built, e.g. models/student-knowdist"
    )
    ap.add_argument("--out", type=Path, default=None, help=f"target folder (default: {DEFAULT_EXPORTS}/<model name>)")
    args = ap.parse_args(argv)
    out = args.out or DEFAULT_EXPORTS / args.model.name
    manifest = export_evaluated(
        args.model, out, ExportConfig.load(), stats_dir=paths.STATS / "sentibench", models_dir=paths.MODELS
    )
    files = ", ".join(f["path"] for f in (manifest.get("gguf_export") or {}).get("files", {}).values()) or "no GGUF"
    print(f"exported {args.model} -> {out} ({files})")
    return manifest


if __name__ == "__main__":
    main()
