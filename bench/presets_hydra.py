"""Can DVC's Hydra composition (``dvc exp run -S preset=NAME``) replace ``sentidistill/presets.py``?
(issue #14, item 10; the write-up is docs/results/hydra-presets.md.)

Builds a throw-away ``git clone`` of this repository in a temp dir (the working tree's
params.yaml and presets/*.yaml copied in), turns on ``dvc config hydra.enabled true``, converts
params.yaml + presets/*.yaml into a Hydra tree (``conf/config.yaml`` = params.yaml with a
defaults list, ``conf/preset/<name>.yaml`` = the preset as a ``_global_`` config group, each
``_replace: true`` mapping rewritten as a ``conf/reset/*`` config that sets the mapping to null
before the preset merges in) and swaps dvc.yaml for a one-stage toy pipeline (``python -c``
copies ``models.teacher`` to a file; seconds per ``dvc exp run``). Then it measures:

1. equality (as parsed YAML data) of the params.yaml that ``dvc exp run -S preset=NAME`` writes
   and ``python -m sentidistill.presets show NAME``, for every preset; also a naive conversion
   (the preset files as they are, ``_replace`` left in) for comparison;
2. the comments left in the composed params.yaml;
3. probes of OmegaConf/Hydra merge semantics (list replacement, key-by-key mapping merge, the
   null reset and ``_self_`` ordering, ``override`` of a group from inside a preset, ``~key``);
4. whether plain ``dvc repro`` composes (or takes ``-S``), and what ``dvc exp run`` without
   ``-S`` does to a hand-edited params.yaml;
5. validation: a preset with a misspelled key, an unknown group and a wrongly typed value,
   through Hydra composition and through ``presets check``;
6. wall times: ``presets apply tiny --out`` (with/without check), Hydra composition alone
   (DVC's own ``compose_and_dump``, in a fresh interpreter), and ``dvc exp run -S preset=tiny``.

    python -m bench.presets_hydra [--repeats N] [--keep]    # writes bench/results/presets_hydra.json

Nothing in this repository is changed; the clone is removed unless ``--keep``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from bench._common import write_result
from sentidistill.io import write_text
from sentidistill.paths import ROOT

PRESETS = ("cpu", "tiny", "paper", "confirmation-200")
TOY_DVC_YAML = """\
stages:
  toy:
    cmd: >-
      python -c "import yaml; p = yaml.safe_load(open('params.yaml'));
      open('out.txt', 'w').write(p['models']['teacher'] + '\\n')"
    params:
      - models.teacher
      - sentibench.models
    outs:
      - out.txt
"""
COMPOSE_ONLY = (
    "import sys; from dvc.utils.hydra import compose_and_dump; "
    "compose_and_dump(sys.argv[1], sys.argv[2], None, 'config', '', sys.argv[3:])"
)


# --------------------------------------------------------------------------- helpers


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(
        DVC_NO_ANALYTICS="1",
        GIT_AUTHOR_NAME="bench",
        GIT_AUTHOR_EMAIL="bench@localhost",
        GIT_COMMITTER_NAME="bench",
        GIT_COMMITTER_EMAIL="bench@localhost",
    )
    return env


def sh(cmd: list[str], cwd: Path, check: bool = True) -> tuple[int, str, float]:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p.returncode, p.stdout + p.stderr, wall


def diff_paths(a: Any, b: Any, path: str = "") -> list[str]:
    """Key paths where ``a`` and ``b`` differ (type-strict for scalars)."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        out = []
        for k in list(a) + [k for k in b if k not in a]:
            p = f"{path}.{k}" if path else str(k)
            if k not in b:
                out.append(f"{p}: only in the reference")
            elif k not in a:
                out.append(f"{p}: only in the Hydra output ({b[k]!r})")
            else:
                out += diff_paths(a[k], b[k], p)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in diff_paths(x, y, f"{path}[{i}]")]
    if a != b or type(a) is not type(b):
        return [f"{path}: reference {a!r} != Hydra {b!r}"]
    return []


def key_order(d: Any, path: str = "") -> list[str]:
    if not isinstance(d, Mapping):
        return []
    return [q for k, v in d.items() for q in [f"{path}.{k}" if path else str(k)] + key_order(v, f"{path}.{k}")]


def comment_lines(text: str) -> dict[str, int]:
    lines = text.splitlines()
    full = sum(1 for ln in lines if re.match(r"^\s*#", ln))
    inline = sum(1 for ln in lines if not re.match(r"^\s*#", ln) and re.search(r"\S\s+#\s", ln))
    return {"lines": len(lines), "full_line_comments": full, "inline_comments": inline}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


# --------------------------------------------------------------------------- conversion


def _rt_yaml():
    from ruamel.yaml import YAML

    y = YAML()
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def convert_preset(text: str, naive: bool = False) -> tuple[str, list[str]]:
    """A presets/<name>.yaml as a Hydra ``_global_`` config group option, and the dotted paths of
    its ``_replace: true`` mappings (each gets a ``/reset/<path>`` default that nulls it first)."""
    if naive:
        return "# @package _global_\n" + text, []
    y = _rt_yaml()
    doc = y.load(text)
    resets: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, Mapping):
            if node.get("_replace") is True:
                resets.append(path)
                del node["_replace"]
            for k, v in node.items():
                walk(v, f"{path}.{k}" if path else str(k))

    walk(doc, "")
    buf = io.StringIO()
    y.dump(doc, buf)
    head = "# @package _global_\n"
    if resets:
        head += "defaults:\n" + "".join(f"  - /reset/{p}\n" for p in resets) + "  - _self_\n"
    return head + buf.getvalue(), resets


def reset_config(path: str) -> str:
    """``# @package _global_`` config that sets the mapping at dotted ``path`` to null."""
    parts = path.split(".")
    lines = ["# @package _global_"]
    for depth, part in enumerate(parts):
        lines.append("  " * depth + f"{part}:" + (" null" if depth == len(parts) - 1 else ""))
    return "\n".join(lines) + "\n"


def write_conf(conf: Path, params_text: str, presets_dir: Path, naive: bool = False) -> dict[str, list[str]]:
    write_text(conf / "config.yaml", "defaults:\n  - _self_\n  - preset: cpu\n\n" + params_text)
    all_resets: dict[str, list[str]] = {}
    for p in sorted(presets_dir.glob("*.yaml")):
        hydra_text, resets = convert_preset(p.read_text(encoding="utf-8"), naive=naive)
        write_text(conf / "preset" / p.name, hydra_text)
        all_resets[p.stem] = resets
        for r in resets:
            write_text(conf / "reset" / f"{r}.yaml", reset_config(r))
    return all_resets


# --------------------------------------------------------------------------- probes (question 3 and 5)


def compose(conf: Path, overrides: list[str]) -> Any:
    """What ``dvc exp run`` writes to params.yaml for ``-S`` ``overrides`` (DVC's own function)."""
    from dvc.utils.hydra import compose_and_dump

    out = conf.parent / "composed.yaml"
    compose_and_dump(out, str(conf), None, "config", str(conf.parent), overrides)
    return yaml.safe_load(out.read_text(encoding="utf-8"))


def probe(tmp: Path, name: str, files: dict[str, str], overrides: list[str]) -> dict[str, Any]:
    conf = tmp / "probes" / name / "conf"
    for rel, text in files.items():
        write_text(conf / rel, text)
    try:
        return {"ok": True, "result": compose(conf, overrides)}
    except Exception as exc:  # noqa: BLE001 - the error is the measurement
        msg = str(exc).strip().splitlines()
        cause = exc.__cause__ or exc.__context__
        return {
            "ok": False,
            "error": f"{type(exc).__name__}: {msg[0] if msg else ''}"
            + (f" <- {type(cause).__name__}: {str(cause).splitlines()[0]}" if cause else ""),
        }


def merge_probes(tmp: Path) -> dict[str, Any]:
    base = "defaults:\n  - _self_\n  - preset: none\nm: {a: 1, b: 2}\nl: [1, 2, 3]\n"
    g = "# @package _global_\n"
    none = {"preset/none.yaml": g + "{}\n"}
    reset = {"reset/m.yaml": g + "m: null\n"}
    cases = {
        "list_replaces": ({"preset/p.yaml": g + "l: [9]\n"}, ["preset=p"], {"l": [9]}),
        "mapping_merges_key_by_key": (
            {"preset/p.yaml": g + "m: {c: 3}\n"},
            ["preset=p"],
            {"m": {"a": 1, "b": 2, "c": 3}},
        ),
        "_replace_key_has_no_meaning": (
            {"preset/p.yaml": g + "m: {_replace: true, c: 3}\n"},
            ["preset=p"],
            {"m": {"c": 3}},
        ),
        "null_reset_before_self": (
            {**reset, "preset/p.yaml": g + "defaults:\n  - /reset/m\n  - _self_\nm: {c: 3}\n"},
            ["preset=p"],
            {"m": {"c": 3}},
        ),
        "null_reset_after_self": (
            {**reset, "preset/p.yaml": g + "defaults:\n  - _self_\n  - /reset/m\nm: {c: 3}\n"},
            ["preset=p"],
            {"m": {"c": 3}},
        ),
        "empty_mapping_after_reset": (
            {**reset, "preset/p.yaml": g + "defaults:\n  - /reset/m\n  - _self_\nm: {}\n"},
            ["preset=p"],
            {"m": {}},
        ),
        "cli_delete_key": ({}, ["~m.a"], {"m": {"b": 2}}),
        "cli_set_unknown_key": ({}, ["m.typo=1"], "error"),
        "cli_append_key": ({}, ["+m.c=3"], {"m": {"a": 1, "b": 2, "c": 3}}),
    }
    out: dict[str, Any] = {}
    for name, (files, overrides, want) in cases.items():
        r = probe(tmp, name, {"config.yaml": base, **none, **files}, overrides)
        got = r.get("result")
        if want == "error":
            r["as_presets_py"] = not r["ok"]
        else:
            r["as_presets_py"] = r["ok"] and all(got.get(k) == v for k, v in want.items())
        r["overrides"] = overrides
        out[name] = r
    # the Hydra-native alternative to _replace: the mapping as its own config group, swapped by the preset
    grp = {
        "config.yaml": "defaults:\n  - _self_\n  - m: default\n  - preset: none\nl: [1, 2, 3]\n",
        "m/default.yaml": "{a: 1, b: 2}\n",
        "m/small.yaml": "{c: 3}\n",
        **none,
        "preset/p.yaml": g + "defaults:\n  - override /m: small\n  - _self_\nl: [9]\n",
    }
    r = probe(tmp, "group_override_from_preset", grp, ["preset=p"])
    r["as_presets_py"] = r["ok"] and r["result"] == {"l": [9], "m": {"c": 3}}
    r["overrides"] = ["preset=p"]
    out["group_override_from_preset"] = r
    r = probe(tmp, "group_override_on_cli", grp, ["m=small"])
    r["as_presets_py"] = r["ok"] and r["result"].get("m") == {"c": 3}
    r["overrides"] = ["m=small"]
    out["group_override_on_cli"] = r
    return out


BAD_PRESET = """\
# a preset with three mistakes that presets check reports
models:
  techer: smollm2-135m-instruct   # misspelled key
modles:                           # unknown top-level group
  teacher: smollm2-135m-instruct
sentibench:
  eval:
    seeds: zero                   # wrong type: a list of ints
"""


def validation(tmp: Path, repo: Path, params_copy: Path) -> dict[str, Any]:
    bad_dir = tmp / "bad-presets"
    write_text(bad_dir / "bad.yaml", BAD_PRESET)
    conf = tmp / "validation" / "conf"
    write_conf(conf, params_copy.read_text(encoding="utf-8"), bad_dir)
    out: dict[str, Any] = {}
    try:
        data = compose(conf, ["preset=bad"])
        out["hydra_compose"] = {
            "ok": True,
            "models.techer": data["models"].get("techer"),
            "modles": data.get("modles"),
            "sentibench.eval.seeds": data["sentibench"]["eval"]["seeds"],
        }
    except Exception as exc:  # noqa: BLE001
        out["hydra_compose"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    rc, text, wall = sh(
        [
            sys.executable,
            "-m",
            "sentidistill.presets",
            "check",
            "bad",
            "--params",
            str(params_copy),
            "--presets-dir",
            str(bad_dir),
        ],
        ROOT,
        check=False,
    )
    out["presets_check"] = {"rc": rc, "output": text.strip().splitlines(), "wall_s": round(wall, 3)}
    rc, text, _ = sh(["dvc", "exp", "run", "-S", "models.techer=x"], repo, check=False)
    out["dvc_exp_run_cli_typo"] = {
        "rc": rc,
        "error": [ln for ln in text.splitlines() if "ERROR" in ln or "append" in ln],
    }
    return out


# --------------------------------------------------------------------------- setup + main


def setup(tmp: Path) -> tuple[Path, Path, dict[str, list[str]]]:
    repo = tmp / "repo"
    sh(["git", "clone", "-q", "--no-hardlinks", str(ROOT), str(repo)], tmp)
    for src in [ROOT / "params.yaml", *sorted((ROOT / "presets").glob("*.yaml"))]:  # the working tree's versions
        write_text(repo / src.relative_to(ROOT), src.read_text(encoding="utf-8"))
    params_copy = tmp / "params.orig.yaml"
    write_text(params_copy, (repo / "params.yaml").read_text(encoding="utf-8"))
    sh(["git", "rm", "-q", "dvc.yaml", "dvc.lock"], repo)
    write_text(repo / "dvc.yaml", TOY_DVC_YAML)
    resets = write_conf(repo / "conf", params_copy.read_text(encoding="utf-8"), repo / "presets")
    sh(["dvc", "config", "hydra.enabled", "true"], repo)
    sh(["git", "add", "-A"], repo)
    sh(["git", "commit", "-q", "-m", "toy pipeline + conf/ (Hydra presets)"], repo)
    return repo, params_copy, resets


def reference(name: str, params_copy: Path, presets_dir: Path) -> tuple[str, float]:
    _, text, wall = sh(
        [
            sys.executable,
            "-m",
            "sentidistill.presets",
            "show",
            name,
            "--params",
            str(params_copy),
            "--presets-dir",
            str(presets_dir),
        ],
        ROOT,
    )
    return text, wall


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3, help="timed runs of each command (default 3)")
    ap.add_argument("--keep", action="store_true", help="keep the temp clone and print its path")
    a = ap.parse_args(argv)
    import hydra
    import omegaconf

    tmp = Path(tempfile.mkdtemp(prefix="presets-hydra-"))
    try:
        repo, params_copy, resets = setup(tmp)
        orig_text = params_copy.read_text(encoding="utf-8")

        # 1 + 2: equality and comments, every preset, through the real `dvc exp run -S`
        equality: dict[str, Any] = {}
        for name in PRESETS:
            ref_text, _ = reference(name, params_copy, repo / "presets")
            ref = yaml.safe_load(ref_text)
            rc, out, wall = sh(["dvc", "exp", "run", "-S", f"preset={name}"], repo)
            if name == "cpu":  # the identity preset, composed onto the committed params.yaml
                identity_git_diff = sh(["git", "diff", "--shortstat", "HEAD", "--", "params.yaml"], repo)[1].strip()
            hyd_text = (repo / "params.yaml").read_text(encoding="utf-8")
            hyd = yaml.safe_load(hyd_text)
            naive = compose_naive(tmp, orig_text, repo / "presets", name)
            equality[name] = {
                "resets": resets.get(name, []),
                "differing_paths": diff_paths(ref, hyd),
                "equal": ref == hyd and not diff_paths(ref, hyd),
                "same_key_order": key_order(ref) == key_order(hyd),
                "toy_out_txt": (repo / "out.txt").read_text(encoding="utf-8").strip(),
                "naive_conversion_differing_paths": diff_paths(ref, naive),
                "comments": {"presets_show": comment_lines(ref_text), "hydra_params_yaml": comment_lines(hyd_text)},
                "dvc_exp_run_wall_s": round(wall, 3),
                "head": hyd_text.splitlines()[:8],
            }
        comments = {
            "params_yaml": comment_lines(orig_text),
            "conf_config_yaml": comment_lines((repo / "conf" / "config.yaml").read_text(encoding="utf-8")),
            "composed_params_yaml_cpu": equality["cpu"]["comments"]["hydra_params_yaml"],
            "composed_params_yaml_cpu_head": equality["cpu"]["head"],
            "git_diff_after_dvc_exp_run_-S_preset=cpu": identity_git_diff,
            "presets_apply_cpu_changes_params_yaml": presets_apply_identity(tmp, params_copy, repo / "presets"),
        }
        for v in equality.values():
            v.pop("head")

        # 3: merge semantics
        probes = merge_probes(tmp)
        probes["stack_tiny_then_confirmation-200"] = stacking(tmp, repo, params_copy)

        # 4: plain dvc repro
        repro: dict[str, Any] = {}
        rc, out, _ = sh(["dvc", "repro", "-S", "preset=tiny"], repo, check=False)
        repro["dvc_repro_-S"] = {"rc": rc, "output_tail": out.strip().splitlines()[-2:]}
        sh(["git", "checkout", "HEAD", "--", "params.yaml"], repo)  # the committed (default) params.yaml
        before = sha(repo / "params.yaml")
        rc, out, _ = sh(["dvc", "repro"], repo, check=False)
        repro["dvc_repro_composes"] = sha(repo / "params.yaml") != before
        repro["dvc_repro_rc"] = rc
        sh(["dvc", "exp", "run", "-S", "preset=tiny"], repo)
        rc, out, _ = sh(["dvc", "repro"], repo, check=False)
        repro["dvc_repro_after_exp_run_tiny"] = {
            "params_teacher": yaml.safe_load((repo / "params.yaml").read_text(encoding="utf-8"))["models"]["teacher"],
            "output_tail": out.strip().splitlines()[-1:],
        }
        text = (repo / "params.yaml").read_text(encoding="utf-8")
        write_text(repo / "params.yaml", text.replace("teacher: smollm2-135m-instruct", "teacher: hand-edited", 1))
        sh(["dvc", "exp", "run"], repo)
        repro["hand_edit_then_exp_run_without_-S"] = {
            "models.teacher_after": yaml.safe_load((repo / "params.yaml").read_text(encoding="utf-8"))["models"][
                "teacher"
            ],
            "note": "params.yaml is regenerated from conf/ (default preset cpu) on every dvc exp run",
        }

        # 2 (contrast): today's `-S` without Hydra edits params.yaml in place (DVC's ruamel round trip)
        sh(["git", "checkout", "HEAD", "--", "params.yaml"], repo)
        sh(["dvc", "exp", "run", "--no-hydra", "-S", "sentibench.eval.seeds=[0,1]"], repo)
        comments["dvc_exp_run_--no-hydra_-S_params_yaml"] = comment_lines(
            (repo / "params.yaml").read_text(encoding="utf-8")
        )
        comments["git_diff_after_dvc_exp_run_--no-hydra_-S"] = sh(
            ["git", "diff", "--shortstat", "HEAD", "--", "params.yaml"], repo
        )[1].strip()

        # 5: validation
        valid = validation(tmp, repo, params_copy)

        # 6: wall times
        times: dict[str, list[float]] = {
            "presets_apply_tiny": [],
            "presets_apply_tiny_no_check": [],
            "hydra_compose_only_tiny": [],
            "dvc_exp_run_-S_preset=tiny": [],
            "dvc_exp_run_-S_preset=cpu": [],
        }
        check_rcs: list[int] = []
        for _ in range(a.repeats):
            rc, out, wall = sh(
                [
                    sys.executable,
                    "-m",
                    "sentidistill.presets",
                    "apply",
                    "tiny",
                    "--params",
                    str(params_copy),
                    "--presets-dir",
                    str(repo / "presets"),
                    "--out",
                    str(tmp / "x.yaml"),
                ],
                ROOT,
                check=False,
            )  # rc 1 when the check finds problems: still a full merge + check
            times["presets_apply_tiny"].append(wall)
            check_rcs.append(rc)
            times["presets_apply_tiny_no_check"].append(
                sh(
                    [
                        sys.executable,
                        "-m",
                        "sentidistill.presets",
                        "apply",
                        "tiny",
                        "--params",
                        str(params_copy),
                        "--presets-dir",
                        str(repo / "presets"),
                        "--out",
                        str(tmp / "y.yaml"),
                        "--no-check",
                    ],
                    ROOT,
                )[2]
            )
            times["hydra_compose_only_tiny"].append(
                sh([sys.executable, "-c", COMPOSE_ONLY, str(tmp / "z.yaml"), str(repo / "conf"), "preset=tiny"], repo)[
                    2
                ]
            )
            times["dvc_exp_run_-S_preset=cpu"].append(sh(["dvc", "exp", "run", "-S", "preset=cpu"], repo)[2])
            times["dvc_exp_run_-S_preset=tiny"].append(sh(["dvc", "exp", "run", "-S", "preset=tiny"], repo)[2])
        med = {k: round(statistics.median(v), 3) for k, v in times.items()}

        for name, e in equality.items():
            print(
                f"{name:>17}: dvc exp run -S preset={name} == presets show {name}: {e['equal']} "
                f"({len(e['differing_paths'])} differing paths; naive conversion: "
                f"{len(e['naive_conversion_differing_paths'])}); comment lines {e['comments']['presets_show']['full_line_comments']}"
                f" -> {e['comments']['hydra_params_yaml']['full_line_comments']}"
            )
        print(
            f"typo/unknown group/bad type preset: Hydra composes it: {valid['hydra_compose']['ok']}; "
            f"presets check rc {valid['presets_check']['rc']}"
        )
        print(f"dvc repro -S: rc {repro['dvc_repro_-S']['rc']}; dvc repro composes: {repro['dvc_repro_composes']}")
        for k, v in med.items():
            print(f"{k:>30}: {v:.3f} s (median of {a.repeats})")
        measured = {"median_wall_s": {k: med[k] for k in ("hydra_compose_only_tiny", "dvc_exp_run_-S_preset=tiny")}}
        baseline = {"median_wall_s": {k: med[k] for k in ("presets_apply_tiny", "presets_apply_tiny_no_check")}}
        write_result(
            "presets_hydra",
            measured=measured,
            baseline=baseline,
            ratio=round(med["dvc_exp_run_-S_preset=tiny"] / med["presets_apply_tiny"], 3),
            ratio_means="median wall of dvc exp run -S preset=tiny (compose + toy stage + exp commit) / presets apply tiny (merge + check)",
            versions={"dvc": _version("dvc"), "hydra-core": hydra.__version__, "omegaconf": omegaconf.__version__},
            nproc_cmd=sh(["nproc"], tmp)[1].strip(),
            q1_equality=equality,
            q2_comments=comments,
            q3_merge_probes=probes,
            q4_plain_repro=repro,
            q5_validation=valid,
            q6_wall_s={
                "runs": {k: [round(x, 3) for x in v] for k, v in times.items()},
                "median": med,
                "presets_apply_tiny_rc": check_rcs,
            },
        )
        if a.keep:
            print(f"kept {tmp}")
        return 0
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def presets_apply_identity(tmp: Path, params_copy: Path, presets_dir: Path) -> bool:
    target = tmp / "identity" / "params.yaml"
    write_text(target, params_copy.read_text(encoding="utf-8"))
    before = sha(target)
    sh(
        [
            sys.executable,
            "-m",
            "sentidistill.presets",
            "apply",
            "cpu",
            "--params",
            str(target),
            "--presets-dir",
            str(presets_dir),
            "--no-check",
        ],
        ROOT,
    )
    return sha(target) != before


def stacking(tmp: Path, repo: Path, params_copy: Path) -> dict[str, Any]:
    """Two presets on top of each other: ``preset=[a,b]`` (a list of options of one group) vs
    ``presets apply a`` then ``presets show b`` on the result."""
    first = tmp / "stack" / "params.yaml"
    presets = repo / "presets"
    sh(
        [
            sys.executable,
            "-m",
            "sentidistill.presets",
            "apply",
            "tiny",
            "--params",
            str(params_copy),
            "--presets-dir",
            str(presets),
            "--out",
            str(first),
            "--no-check",
        ],
        ROOT,
    )
    ref = yaml.safe_load(reference("confirmation-200", first, presets)[0])
    try:
        hyd = compose(repo / "conf", ["preset=[tiny,confirmation-200]"])
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0]}"}
    return {"ok": True, "overrides": ["preset=[tiny,confirmation-200]"], "differing_paths": diff_paths(ref, hyd)}


def compose_naive(tmp: Path, params_text: str, presets_dir: Path, name: str) -> Any:
    conf = tmp / "naive" / "conf"
    if not conf.is_dir():
        write_conf(conf, params_text, presets_dir, naive=True)
    return compose(conf, [f"preset={name}"])


def _version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


if __name__ == "__main__":
    sys.exit(main())
