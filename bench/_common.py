"""Shared helpers for bench/ scripts: machine facts and the result file format."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
from pathlib import Path
from typing import Any

from sentidistill.io import write_text

RESULTS = Path(__file__).resolve().parent / "results"
# the flags that decide which kernels and precisions are fast (bf16 natively or not)
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from sentidistill.precision import cpu_flags

    flags = cpu_flags()
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu,
        "python": platform.python_version(),
        "cpu_flags": {f: f in flags for f in CPU_FLAGS},
    }


def write_result(name: str, *, measured: dict[str, Any], baseline: dict[str, Any], ratio: float, **extra: Any) -> Path:
    """Write bench/results/<name>.json with the fields every bench result carries."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}.json"
    payload = {
        "bench": name,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "measured": measured,
        "baseline": baseline,
        "ratio": ratio,
        **extra,
    }
    write_text(out, json.dumps(payload, indent=2, sort_keys=True) + "\n")  # atomic: a kill keeps the last result
    print(f"wrote {out}")
    return out
