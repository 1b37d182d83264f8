"""Batch prediction with a trained classifier: JSONL / CSV / parquet in, the same rows out with
the predicted label and every class probability.

    python -m sentidistill.classifier.predict --model models/classifier-student \\
        --input texts.jsonl --output preds.jsonl [--text-field text] [--batch-size 32]

Nothing is lost: the output has one row per input record, in input order, with all of its
original columns plus ``pred_label``, ``pred_score`` (the top probability), one
``pred_prob_<label>`` per class and ``pred_error`` (null when predicted). Rows that cannot be
predicted are kept with a null prediction and the reason in ``pred_error``:

* ``empty_text`` -- the text is empty or only whitespace;
* ``missing_text`` -- this record has no text field, or it is null (JSONL records may differ);
* ``non_string_text`` -- the field holds a number, list or object;
* ``bad_json: <message>`` -- a JSONL line that is not valid JSON (or not an object): the line is
  kept as a row with its line number (``input_line``) and raw text (``input_raw``); with
  ``--strict`` it is an error naming the line instead.

Blank lines of a JSONL file are not records (they are counted, not output). A text field that
no record has at all is an error naming the fields the input does have. JSONL output rows
carry ``input_line`` (their line in the input file).

The model is any ``AutoModelForSequenceClassification`` folder (or hub id); texts are
truncated to the tokenizer's ``model_max_length`` unless ``--max-length`` says otherwise, and
batched by length (less padding); a progress bar shows the rate and ETA.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from sentidistill.io import atomic_path
from sentidistill.log import get_logger, progress_bar

log = get_logger("sentidistill.classifier.predict")  # not __name__: "__main__" under -m

FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet"}
READ_ERROR = "_read_error"  # internal: why a JSONL line gave no record
INTERNAL = ("input_line", "input_raw", READ_ERROR)


class MissingTextFieldError(KeyError):
    """The input has no column / no record with the requested text field."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class BadInputError(ValueError):
    """A malformed input line (``--strict``) or an unsupported file."""


# ----------------------------------------------------------------------------- model
class EncoderClassifier:
    """A sequence-classification model + tokenizer with batched, length-sorted prediction."""

    def __init__(self, model: Any, tokenizer: Any, *, max_length: int | None = None, name: str = "model") -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        limit = getattr(tokenizer, "model_max_length", None)
        pos = getattr(model.config, "max_position_embeddings", None)
        default = limit if limit and limit < 100_000 else (pos or 512)
        self.max_length = int(max_length or default)
        self.labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
        self.name = name

    @classmethod
    def load(cls, path: str | Path, *, max_length: int | None = None, threads: int | None = None) -> EncoderClassifier:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from sentidistill.models.safe_load import remote_code_allowed, require_safetensors

        if threads:
            torch.set_num_threads(threads)
        require_safetensors(path)  # never unpickle weights (a .bin-only folder is refused)
        trust = remote_code_allowed(path)
        tok = AutoTokenizer.from_pretrained(str(path), trust_remote_code=trust)
        model = AutoModelForSequenceClassification.from_pretrained(
            str(path), trust_remote_code=trust, use_safetensors=True
        )
        return cls(model, tok, max_length=max_length, name=str(path))

    @classmethod
    def untrained(
        cls, base: str | Path, labels: Sequence[str], *, seed: int, max_length: int | None = None
    ) -> EncoderClassifier:
        """The base encoder with a freshly initialized (seeded) classification head: the
        "before distillation" baseline."""
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from sentidistill.models.safe_load import remote_code_allowed, require_safetensors

        torch.manual_seed(seed)
        id2label = dict(enumerate(labels))
        require_safetensors(base)
        trust = remote_code_allowed(base)
        model = AutoModelForSequenceClassification.from_pretrained(
            str(base),
            num_labels=len(labels),
            id2label=id2label,
            label2id={v: k for k, v in id2label.items()},
            trust_remote_code=trust,
            use_safetensors=True,
        )
        tok = AutoTokenizer.from_pretrained(str(base), trust_remote_code=trust)
        return cls(model, tok, max_length=max_length, name=f"untrained:{base}")

    def predict_proba(self, texts: Sequence[str], *, batch_size: int = 32, desc: str | None = "predict") -> np.ndarray:
        """Class probabilities ``[len(texts), n_labels]`` (float32), in ``self.labels`` order."""
        import torch

        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        if not texts:
            return out
        enc = self.tokenizer(list(texts), truncation=True, max_length=self.max_length)
        order = sorted(range(len(texts)), key=lambda i: len(enc["input_ids"][i]))
        keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc]
        bar = progress_bar(len(texts), desc=desc, unit="text") if desc else None
        try:
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                batch = self.tokenizer.pad([{k: enc[k][i] for k in keys} for i in idx], return_tensors="pt")
                with torch.inference_mode():
                    logits = self.model(**batch).logits.float()
                out[idx] = torch.softmax(logits, dim=-1).numpy()
                if bar is not None:
                    bar.update(len(idx))
        finally:
            if bar is not None:
                bar.close()
        return out


# ------------------------------------------------------------------------------- I/O
def input_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise BadInputError(f"{path}: unsupported file type {path.suffix!r}; use one of {sorted(FORMATS)}")
    return fmt


def read_jsonl(path: Path, *, text_field: str = "text", strict: bool = False) -> tuple[pl.DataFrame, dict[str, int]]:
    """Records of a JSONL file; bad lines become rows with a read error (or an error with
    ``strict``); blank lines are skipped and counted. A text field holding a number, list or
    object is flagged ``non_string_text`` (its value kept as JSON text)."""
    records: list[dict[str, Any]] = []
    blank = bad = 0
    with path.open("r", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                blank += 1
                continue
            try:
                obj = json.loads(line)
                if not isinstance(obj, dict):
                    raise ValueError(f"a JSON {type(obj).__name__}, not an object")
            except ValueError as exc:
                msg = str(exc).split("\n")[0]
                if strict:
                    raise BadInputError(
                        f"{path}:{lineno}: not a JSON object ({msg}); fix the line or drop --strict "
                        "to keep it as a rejected row"
                    ) from None
                bad += 1
                records.append({"input_line": lineno, "input_raw": line.rstrip("\n"), READ_ERROR: f"bad_json: {msg}"})
                continue
            value = obj.get(text_field)
            if value is not None and not isinstance(value, str):
                obj = {**obj, text_field: json.dumps(value), READ_ERROR: "non_string_text"}
            records.append({**obj, "input_line": lineno})
    df = _frame(records)
    return df, {"blank_lines": blank, "bad_lines": bad}


def _frame(records: list[dict[str, Any]]) -> pl.DataFrame:
    if not records:
        return pl.DataFrame()
    try:
        return pl.from_dicts(records, infer_schema_length=None)
    except Exception:  # noqa: BLE001 - mixed types across records: keep conflicting values as JSON text
        keys = list(dict.fromkeys(k for r in records for k in r))
        cols = {}
        for k in keys:
            vals = [r.get(k) for r in records]
            try:
                cols[k] = pl.Series(k, vals, strict=True)
            except Exception:  # noqa: BLE001
                cols[k] = pl.Series(
                    k, [None if v is None else v if isinstance(v, str) else json.dumps(v) for v in vals], dtype=pl.Utf8
                )
        return pl.DataFrame(cols)


def read_input(path: Path, *, text_field: str = "text", strict: bool = False) -> tuple[pl.DataFrame, dict[str, int]]:
    fmt = input_format(path)
    if not path.is_file():
        raise FileNotFoundError(f"input file {path} not found")
    if fmt == "jsonl":
        return read_jsonl(path, text_field=text_field, strict=strict)
    if fmt == "csv":
        df = pl.read_csv(path, infer_schema_length=10_000)
        if text_field in df.columns:  # "5" in a CSV is text, not a number
            df = df.with_columns(pl.col(text_field).cast(pl.Utf8))
        return df, {}
    return pl.read_parquet(path), {}


def _writable(df: pl.DataFrame, fmt: str) -> pl.DataFrame:
    if fmt != "csv":
        return df
    nested = [c for c, t in df.schema.items() if isinstance(t, (pl.List, pl.Struct, pl.Array))]
    return df.with_columns(
        pl.col(c).map_elements(lambda v: json.dumps(v.to_list() if hasattr(v, "to_list") else v), return_dtype=pl.Utf8)
        for c in nested
    )


def write_output(df: pl.DataFrame, path: Path) -> None:
    """Atomic write (temp file + rename) in the format of ``path``'s extension."""
    fmt = input_format(path)
    out = _writable(df, fmt)
    with atomic_path(path) as tmp:
        if fmt == "jsonl":
            out.write_ndjson(tmp)
        elif fmt == "csv":
            out.write_csv(tmp)
        else:
            out.write_parquet(tmp)


# --------------------------------------------------------------------------- predict
def text_status(value: Any) -> str | None:
    """Why a value cannot be classified (None = it can)."""
    if value is None:
        return "missing_text"
    if not isinstance(value, str):
        return "non_string_text"
    if not value.strip():
        return "empty_text"
    return None


def predict_frame(
    df: pl.DataFrame, clf: EncoderClassifier, *, text_field: str = "text", batch_size: int = 32, prefix: str = "pred_"
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """``df`` + prediction columns (see the module docstring); one output row per input row."""
    error_col = f"{prefix}error"
    fields = [c for c in df.columns if c not in INTERNAL]
    if text_field not in df.columns:
        raise MissingTextFieldError(
            f"the input has no field {text_field!r}; available fields: {fields}. Pass --text-field NAME."
        )
    prob_cols = [f"{prefix}prob_{lab}" for lab in clf.labels]
    new_cols = [f"{prefix}label", f"{prefix}score", *prob_cols]
    clash = [c for c in [*new_cols, error_col] if c in fields]
    if clash:
        raise BadInputError(f"the input already has columns {clash}; choose another --prefix")
    prior = df[READ_ERROR].to_list() if READ_ERROR in df.columns else [None] * df.height
    values = df[text_field].to_list()
    reasons = [p if p is not None else text_status(v) for p, v in zip(prior, values)]
    ok = [i for i, r in enumerate(reasons) if r is None]
    probs = clf.predict_proba([values[i] for i in ok], batch_size=batch_size, desc="predict") if ok else None
    n = df.height
    label: list[str | None] = [None] * n
    score: list[float | None] = [None] * n
    per_class: list[list[float | None]] = [[None] * n for _ in clf.labels]
    if probs is not None:
        for row, p in zip(ok, probs):
            j = int(p.argmax())
            label[row], score[row] = clf.labels[j], float(p[j])
            for c in range(len(clf.labels)):
                per_class[c][row] = float(p[c])
    out = df.drop(READ_ERROR, strict=False).with_columns(
        pl.Series(f"{prefix}label", label, dtype=pl.Utf8),
        pl.Series(f"{prefix}score", score, dtype=pl.Float64),
        *(pl.Series(col, vals, dtype=pl.Float64) for col, vals in zip(prob_cols, per_class)),
        pl.Series(error_col, reasons, dtype=pl.Utf8),
    )
    errors: dict[str, int] = {}
    for r in reasons:
        if r is not None:
            key = r.split(":")[0]
            errors[key] = errors.get(key, 0) + 1
    summary = {
        "rows": n,
        "predicted": len(ok),
        "not_predicted": n - len(ok),
        "errors": dict(sorted(errors.items())),
        "labels": {lab: label.count(lab) for lab in clf.labels},
    }
    assert summary["rows"] == summary["predicted"] + sum(errors.values())
    return out, summary


def predict_file(
    model: str | Path,
    input_path: Path,
    output_path: Path,
    *,
    text_field: str = "text",
    batch_size: int = 32,
    max_length: int | None = None,
    strict: bool = False,
    prefix: str = "pred_",
    threads: int | None = None,
    classifier: EncoderClassifier | None = None,
) -> dict[str, Any]:
    """Read, predict, write; returns the summary (rows = predicted + not predicted, by reason)."""
    df, read_stats = read_input(Path(input_path), text_field=text_field, strict=strict)
    if text_field not in df.columns:  # fail before loading the model
        fields = [c for c in df.columns if c not in INTERNAL]
        if fields:
            raise MissingTextFieldError(
                f"{input_path}: no field {text_field!r}; available fields: {fields}. Pass --text-field NAME."
            )
        # no records, or only malformed lines (kept as rows): no text to read anywhere
        if df.height == 0:
            log.warning("%s has no records", input_path)
            df = pl.DataFrame(schema={**df.schema, text_field: pl.Utf8})
        else:
            df = df.with_columns(pl.lit(None, dtype=pl.Utf8).alias(text_field))
    clf = classifier or EncoderClassifier.load(model, max_length=max_length, threads=threads)
    out, summary = predict_frame(df, clf, text_field=text_field, batch_size=batch_size, prefix=prefix)
    write_output(out, Path(output_path))
    summary.update(read_stats, input=str(input_path), output=str(output_path), model=str(model))
    log.info(
        "predicted %d of %d rows -> %s%s",
        summary["predicted"],
        summary["rows"],
        output_path,
        f" (not predicted: {summary['errors']})" if summary["errors"] else "",
    )
    return summary


def missing_local_model(model: str | Path, root: Path | None = None) -> str | None:
    """Why ``model`` cannot be a model, when it looks like a local path that does not exist (its
    parent folder exists, or it starts like a path), naming the pipeline stage that builds it;
    None for an existing folder or a hub id (``org/name``, left to the hub)."""
    from sentidistill.paths import ROOT

    root = root or ROOT
    text = str(model)
    path = Path(text).expanduser()
    if path.exists():
        return None
    looks_local = text.startswith(("/", "./", "../", "~")) or (len(path.parts) > 1 and path.parent.is_dir())
    if not looks_local:
        return None
    stage = None
    try:
        import yaml

        stages = yaml.safe_load((root / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
        rel = (
            str(path.resolve().relative_to(root.resolve()))
            if path.is_absolute() or path.resolve().is_relative_to(root.resolve())
            else text
        )
        for name, st in stages.items():
            outs = [next(iter(o)) if isinstance(o, dict) else o for o in st.get("outs", [])]
            if rel in outs:
                stage = name
                break
    except (OSError, KeyError, TypeError, ValueError):
        pass
    hint = f"build it with `dvc repro {stage}`" if stage else "check the path (or pass a hub id like org/name)"
    return f"model folder {text} does not exist: {hint}"


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(
        prog="python -m sentidistill.classifier.predict",
        description="Batch sentiment prediction with a trained classifier (JSONL/CSV/parquet in and out).",
    )
    ap.add_argument("--model", required=True, help="classifier folder (e.g. models/classifier-student) or hub id")
    ap.add_argument("--input", required=True, type=Path, help="input .jsonl / .csv / .parquet")
    ap.add_argument("--output", required=True, type=Path, help="output .jsonl / .csv / .parquet")
    ap.add_argument("--text-field", default="text", help="field / column holding the text (default: text)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=None, help="tokens per text (default: the tokenizer's)")
    ap.add_argument("--prefix", default="pred_", help="prefix of the added columns (default: pred_)")
    ap.add_argument("--strict", action="store_true", help="a malformed JSONL line is an error (default: kept, flagged)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: all cores)")
    ap.add_argument("--summary", type=Path, default=None, help="also write the summary as JSON here")
    args = ap.parse_args(argv)
    if args.batch_size < 1:
        ap.error("--batch-size must be >= 1")
    problem = missing_local_model(args.model)
    if problem:  # before transformers, which would retry the hub for a minute and print 80 lines
        raise SystemExit(f"error: {problem}")
    try:
        summary = predict_file(
            args.model,
            args.input,
            args.output,
            text_field=args.text_field,
            batch_size=args.batch_size,
            max_length=args.max_length,
            strict=args.strict,
            prefix=args.prefix,
            threads=args.threads,
        )
    except (MissingTextFieldError, BadInputError, FileNotFoundError) as exc:
        raise SystemExit(f"error: {exc}") from None
    if args.summary:
        from sentidistill.io import write_json

        write_json(args.summary, summary)
    print(json.dumps(summary, indent=2, sort_keys=True))
    return summary


if __name__ == "__main__":
    main()
