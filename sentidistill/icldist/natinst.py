"""Task diversification (paper Section 2.2): Super-NaturalInstructions prompts.

Each prompt is the task definition, ``n_examples`` positive examples and the instance
input, in the SNI / Tk-Instruct layout (Wang et al., 2022)::

    Definition: {definition}

    Positive Example 1 -
    Input: {input}
    Output: {output}

    Now complete the following example -
    Input: {input}
    Output:

The answer comes from the teacher (the paper's choice) or, with ``answer_source: gold``,
from the instance's first reference output (no teacher call). Instances are chosen
round-robin over the tasks, each task's instances in a seeded hash order, so every task
contributes before any contributes twice.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import polars as pl
from pydantic import Field

from sentidistill.icldist.prompts import ICL_PROMPT_COLUMNS
from sentidistill.knowdist.prompts import prompt_id
from sentidistill.params import StrictModel


class NatInstParams(StrictModel):
    """``icldist.natinst``."""

    seed: int = Field(ge=0)
    answer_source: Literal["teacher", "gold"]
    n_examples: int = Field(ge=0, le=8, description="positive examples shown (SNI default 2)")
    max_prompt_chars: int = Field(ge=100, description="skip instances whose whole prompt is longer")
    tasks: list[str] | None = Field(None, description="task names (file stems); null = all in data/raw/natinst/tasks")


def build_prompt(task: dict[str, Any], instance_input: str, n_examples: int) -> str:
    definition = " ".join(task["Definition"]).strip() if isinstance(task["Definition"], list) else task["Definition"]
    parts = [f"Definition: {definition}", ""]
    for i, ex in enumerate(task.get("Positive Examples", [])[:n_examples], start=1):
        parts += [f"Positive Example {i} -", f"Input: {ex['input'].strip()}", f"Output: {ex['output'].strip()}", ""]
    parts += ["Now complete the following example -", f"Input: {instance_input.strip()}", "Output:"]
    return "\n".join(parts)


def load_tasks(natinst_dir: Path, names: list[str] | None) -> dict[str, dict[str, Any]]:
    task_dir = natinst_dir / "tasks"
    files = sorted(task_dir.glob("*.json"))
    if not files:
        raise FileNotFoundError(f"no SNI task files under {task_dir}: run `dvc pull data/raw/natinst`")
    tasks = {f.stem: json.loads(f.read_text(encoding="utf-8")) for f in files}
    if names is not None:
        missing = sorted(set(names) - set(tasks))
        if missing:
            raise ValueError(f"icldist.natinst.tasks: unknown tasks {missing} (see {task_dir})")
        tasks = {n: tasks[n] for n in names}
    return tasks


def _h(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()


def build_natinst_prompts(natinst_dir: Path, n: int, params: NatInstParams) -> tuple[pl.DataFrame, dict[str, int]]:
    """``n`` SNI prompt rows (columns as the ICLDist prompt table) and counts."""
    tasks = load_tasks(natinst_dir, params.tasks)
    order = sorted(tasks, key=lambda t: _h(params.seed, t))
    queues = {t: sorted(tasks[t]["Instances"], key=lambda inst: _h(params.seed, t, inst["id"])) for t in order}
    rows: list[dict[str, Any]] = []
    skipped = 0
    depth = 0
    while len(rows) < n and any(len(q) > depth for q in queues.values()):
        for t in order:
            if len(rows) >= n:
                break
            q = queues[t]
            if depth >= len(q):
                continue
            inst = q[depth]
            msg = build_prompt(tasks[t], inst["input"], params.n_examples)
            if len(msg) > params.max_prompt_chars:
                skipped += 1
                continue
            rows.append(
                {
                    "prompt_id": prompt_id("natinst", t, inst["id"]),
                    "text_id": inst["id"],
                    "task": "natinst",
                    "label_set": t,
                    "instruction": "full",
                    "format": f"{t}+full",
                    "allowed_labels": [],
                    "n_demos": min(params.n_examples, len(tasks[t].get("Positive Examples", []))),
                    "user_message": msg,
                    "gold": (inst.get("output") or [""])[0],
                }
            )
        depth += 1
    if len(rows) < n:
        raise ValueError(
            f"asked for {n} SNI prompts but only {len(rows)} fit max_prompt_chars={params.max_prompt_chars}"
        )
    df = pl.DataFrame(rows, schema=_SCHEMA)
    return df, {
        "natinst_tasks_available": len(tasks),
        "natinst_tasks_used": df["label_set"].n_unique() if n else 0,
        "natinst_skipped_too_long": skipped,
    }


# the prompt-table columns an SNI row fills itself (build.py adds domain and answer_source)
_SCHEMA = {k: v for k, v in ICL_PROMPT_COLUMNS.items() if k not in ("domain", "answer_source")}
