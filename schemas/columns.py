"""Column lists derived from a schema, so code that builds or selects an artifact's columns
states them nowhere else."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl


def column_names(schema: pa.DataFrameSchema, *, drop: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The schema's columns in order (``ordered=True`` schemas: the artifact's column order)."""
    return tuple(name for name in schema.columns if name not in drop)


def column_dtypes(schema: pa.DataFrameSchema, *, drop: tuple[str, ...] = ()) -> dict[str, pl.DataType]:
    """Column -> polars dtype, in order: the ``schema=`` of an empty or row-built frame."""
    return {name: col.dtype.type for name, col in schema.columns.items() if name not in drop}
