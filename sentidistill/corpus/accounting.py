"""Row accounting for the corpus stages: every input row ends up in exactly one outcome.

Each stage tallies its outcomes (kept, rejected, duplicates, ...) per file, domain and
source, checks ``input = sum(outcomes)`` for every group and writes the table into its
stats JSON (a DVC metric). A broken identity is a bug and stops the stage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

#: Columns every corpus artifact carries and the accounting is grouped by.
GROUP_COLUMNS = ("file", "domain", "source")
#: Group label for rows whose domain/source could not be read (e.g. a line of bad JSON).
UNKNOWN = "unknown"


class AccountingError(AssertionError):
    """Rows were lost or double-counted between a stage's input and its outputs."""


def tally(df: pl.DataFrame, column: str) -> dict[str, int]:
    """Row count per value of ``column`` (nulls counted under ``unknown``), keys sorted."""
    if df.height == 0:
        return {}
    counts = df.select(pl.col(column).cast(pl.String).fill_null(UNKNOWN)).to_series().value_counts()
    return {str(k): int(v) for k, v in sorted(counts.iter_rows())}


def account(
    outcomes: Mapping[str, pl.DataFrame],
    *,
    input_name: str,
    inputs: pl.DataFrame | None = None,
    input_counts: Mapping[str, Mapping[str, int]] | None = None,
    by: Sequence[str] = GROUP_COLUMNS,
) -> dict[str, object]:
    """Tally ``outcomes`` per group and check them against the stage's input.

    The input side is either a frame (``inputs``, tallied the same way) or known counts
    per group column (``input_counts[column][group]``, e.g. line counts per file).
    Columns with neither are reported with ``input = sum(outcomes)``.
    """
    inputs_by: dict[str, dict[str, int]] = {}
    for col in by:
        if inputs is not None:
            inputs_by[col] = tally(inputs, col)
        elif input_counts is not None and col in input_counts:
            inputs_by[col] = dict(input_counts[col])
    table: dict[str, object] = {}
    errors: list[str] = []
    totals = {name: df.height for name, df in outcomes.items()}
    for col in by:
        per_outcome = {name: tally(df, col) for name, df in outcomes.items()}
        groups = sorted(set().union(*per_outcome.values(), inputs_by.get(col, {})))
        rows: dict[str, dict[str, int]] = {}
        for g in groups:
            parts = {name: per_outcome[name].get(g, 0) for name in outcomes}
            n_in = inputs_by[col].get(g, 0) if col in inputs_by else sum(parts.values())
            if n_in != sum(parts.values()):
                errors.append(f"{col}={g}: {input_name}={n_in} but " + " + ".join(f"{k}={v}" for k, v in parts.items()))
            rows[g] = {input_name: n_in, **parts}
        table[f"by_{col}"] = rows
    n_total = sum(totals.values())
    if inputs is not None and inputs.height != n_total:
        errors.append(f"total: {input_name}={inputs.height} but outcomes sum to {n_total}")
    if errors:
        raise AccountingError("row accounting broken:\n  " + "\n  ".join(errors))
    table["total"] = {input_name: inputs.height if inputs is not None else n_total, **totals}
    return table


def corpus_accounting(
    line_counts: Mapping[str, int],
    *,
    rejected: pl.DataFrame,
    normalized: pl.DataFrame,
    duplicates: pl.DataFrame,
    contaminated: pl.DataFrame,
    clean: pl.DataFrame,
) -> dict[str, object]:
    """The whole chain: ``raw = rejected + exact_duplicates + near_duplicates + contaminated + kept``.

    ``raw`` per file is the line count of the raw file (counted independently of the
    stages); per domain and source it is the sum of the outcomes. The artifacts of
    consecutive stages are also checked against each other (normalized rows = exact
    + near duplicates + contaminated + kept).
    """
    outcomes = {
        "exact_duplicates": duplicates.filter(pl.col("kind") == "exact"),
        "near_duplicates": duplicates.filter(pl.col("kind") == "near"),
        "contaminated": contaminated,
        "kept": clean,
    }
    account(outcomes, input_name="normalized", inputs=normalized)
    table = account({"rejected": rejected, **outcomes}, input_name="raw", input_counts={"file": line_counts})
    return {"identity": "raw = rejected + exact_duplicates + near_duplicates + contaminated + kept", **table}
