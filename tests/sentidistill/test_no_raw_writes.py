"""Every file the code writes goes through sentidistill/io.py's atomic writers (issue #15, item 6:
a kill or a full disk leaves the previous artifact or none, never a truncated one).

The AST of every module under the scanned folders is searched for raw writes: DataFrame
``write_parquet``/``to_parquet``/..., ``open(..., "w"/"a"/"x")``, ``Path.write_text``,
``savefig``, ``save_pretrained``, ``json.dump``, ``shutil.copy*``, ``torch.save``, ... A raw
write is fine inside ``with atomic_path(...) as tmp`` / ``with atomic_folder(...) as work``
when it writes to that ``tmp``/``work``; any other needs an entry in :data:`ALLOWED` with
the reason it is safe.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("sentidistill", "stages", "schemas", "bench")
#: the atomic writers themselves
EXEMPT = {"sentidistill/io.py"}
ATOMIC_CONTEXTS = {"atomic_path", "atomic_folder"}

#: methods that write a file, whatever the object (polars/pandas frames, Path, figures, HF models)
WRITE_METHODS = {
    "write_parquet",
    "write_csv",
    "write_ndjson",
    "write_json",
    "write_ipc",
    "write_avro",
    "write_excel",
    "write_delta",
    "sink_parquet",
    "sink_csv",
    "sink_ndjson",
    "sink_ipc",
    "to_parquet",
    "to_csv",
    "to_json",
    "to_feather",
    "write_text",
    "write_bytes",
    "savefig",
    "save_pretrained",
    "save_model",
    "save_file",
}
#: module functions that write a file
WRITE_FUNCTIONS = {
    ("json", "dump"),
    ("pickle", "dump"),
    ("torch", "save"),
    ("np", "save"),
    ("np", "savez"),
    ("numpy", "save"),
    ("shutil", "copy"),
    ("shutil", "copy2"),
    ("shutil", "copyfile"),
    ("shutil", "copytree"),
    ("os", "open"),
}
WRITE_MODE = set("wax+")

#: (file, enclosing function, call) -> why this raw write is safe
ALLOWED: dict[tuple[str, str, str], str] = {
    (
        "sentidistill/models/materialize.py",
        "concat_verify",
        "open",
    ): "its own temp file + os.replace, renamed only once the sha256 is verified (a fixed temp name: a killed run's "
    "leftover is overwritten, never listed in the resumable .partial folder)",
    (
        "sentidistill/models/materialize.py",
        "_save_hf",
        ".save_pretrained",
    ): "writes into the .partial work folder that materialize() swaps in with io.replace_folder",
    (
        "sentidistill/models/materialize.py",
        "copy_encoder",
        "shutil.copyfile",
    ): "writes into the .partial work folder that materialize() swaps in with io.replace_folder",
    (
        "sentidistill/faults.py",
        "record_engine_calls",
        "open",
    ): "an audit log for the resume tests, appended and fsynced line by line, not an artifact",
    (
        "sentidistill/engines/llamacpp_server.py",
        "llamacpp_server",
        "open",
    ): "the llama.cpp server's own log (a temp file or one the caller names), not an artifact",
    (
        "bench/faults.py",
        "teacher_child",
        "open",
    ): "a child process's stderr log in the bench's temp folder, appended, not an artifact",
    (
        "bench/faults.py",
        "fault_corrupt_shard",
        ".write_bytes",
    ): "the fault itself: truncates a cache shard on purpose in the bench's temp folder",
    (
        "bench/faults.py",
        "fault_full_disk.half_then_enospc",
        ".write_bytes",
    ): "the fault itself: a stand-in writer that leaves half a temp file and raises ENOSPC",
}


@dataclass(frozen=True)
class RawWrite:
    file: str
    function: str
    call: str
    line: int


def _mode(call: ast.Call, position: int) -> str | None:
    """The mode argument of an open call (None when it is not a string literal)."""
    for kw in call.keywords:
        if kw.arg == "mode":
            return kw.value.value if isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str) else None
    if len(call.args) > position:
        arg = call.args[position]
        return arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None
    return "r"


def _raw_write(call: ast.Call, io_aliases: set[str]) -> str | None:
    """A name for ``call`` if it writes a file without the atomic helpers, else None."""
    func = call.func
    if isinstance(func, ast.Name) and func.id == "open":
        mode = _mode(call, 1)
        return "open" if mode is None or WRITE_MODE & set(mode) else None
    if not isinstance(func, ast.Attribute):
        return None
    owner = func.value.id if isinstance(func.value, ast.Name) else None
    if owner in io_aliases:  # sentidistill.io.write_json(...) and friends
        return None
    if (owner, func.attr) in WRITE_FUNCTIONS:
        return f"{owner}.{func.attr}"
    if func.attr == "open" and owner not in {"os", "io"}:  # Path.open(mode) (os.open: WRITE_FUNCTIONS)
        mode = _mode(call, 0)
        return ".open" if mode is None or WRITE_MODE & set(mode) else None
    if func.attr in WRITE_METHODS:
        return f".{func.attr}"
    return None


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _atomic_targets(node: ast.With) -> set[str]:
    """The names bound by ``with atomic_path(...) as tmp`` / ``atomic_folder`` items."""
    out = set()
    for item in node.items:
        ctx = item.context_expr
        if isinstance(ctx, ast.Call) and isinstance(item.optional_vars, ast.Name):
            name = ctx.func.attr if isinstance(ctx.func, ast.Attribute) else getattr(ctx.func, "id", None)
            if name in ATOMIC_CONTEXTS:
                out.add(item.optional_vars.id)
    return out


def _io_aliases(tree: ast.Module) -> set[str]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.asname for a in node.names if a.name == "sentidistill.io" and a.asname}
        elif isinstance(node, ast.ImportFrom) and node.module == "sentidistill":
            out |= {a.asname or a.name for a in node.names if a.name == "io"}
    return out


class _Finder(ast.NodeVisitor):
    def __init__(self, file: str, io_aliases: set[str]) -> None:
        self.file, self.io_aliases = file, io_aliases
        self.function: list[str] = []
        self.atomic: list[set[str]] = []
        self.found: list[RawWrite] = []

    def _scope(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.function.append(node.name)
        self.generic_visit(node)
        self.function.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = _scope

    def visit_With(self, node: ast.With) -> None:
        self.atomic.append(_atomic_targets(node))
        self.generic_visit(node)
        self.atomic.pop()

    def visit_Call(self, node: ast.Call) -> None:
        call = _raw_write(node, self.io_aliases)
        if call is not None:
            targets = set().union(*self.atomic)
            mentioned = _names(node.func.value) if isinstance(node.func, ast.Attribute) else set()
            for arg in [*node.args, *(kw.value for kw in node.keywords)]:
                mentioned |= _names(arg)
            if not targets & mentioned:  # not a write into an atomic temp path / partial folder
                self.found.append(RawWrite(self.file, ".".join(self.function) or "<module>", call, node.lineno))
        self.generic_visit(node)


def raw_writes() -> list[RawWrite]:
    found = []
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel in EXEMPT:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
            finder = _Finder(rel, _io_aliases(tree))
            finder.visit(tree)
            found += finder.found
    return found


def test_every_file_write_is_atomic_or_allowed_with_a_reason():
    found = raw_writes()
    unexplained = [w for w in found if (w.file, w.function, w.call) not in ALLOWED]
    assert not unexplained, (
        "raw file writes outside sentidistill/io.py: use write_parquet/write_json/write_text/write_bytes, "
        "`with atomic_path(path) as tmp` (savefig(tmp, format=...), write_csv(tmp)) or `with atomic_folder(dir) as "
        "work` (save_pretrained(work)), or add the call to ALLOWED with the reason it is safe:\n"
        + "\n".join(f"  {w.file}:{w.line} {w.function}: {w.call}(...)" for w in unexplained)
    )


def test_the_allowlist_has_no_stale_entries():
    """An entry whose call is gone would silently allow the next raw write in that function."""
    found = {(w.file, w.function, w.call) for w in raw_writes()}
    stale = [k for k in ALLOWED if (ROOT / k[0]).is_file() and k not in found]
    assert not stale, f"ALLOWED entries that match no call any more (remove them): {stale}"


def test_the_scanner_sees_raw_writes_and_accepts_atomic_ones():
    src = """
import json
from sentidistill import io as sio
from sentidistill.io import atomic_folder, atomic_path

def bad(df, fig, p, model):
    df.write_parquet(p)
    fig.savefig(p)
    p.write_text("x")
    json.dump({}, open(p, "w"))
    with p.open("a") as fh:
        pass
    model.save_pretrained(p)

def good(df, fig, p, model, obj):
    sio.write_json(p, obj)
    with open(p) as fh, p.open("rb") as fb:
        pass
    with atomic_path(p) as tmp:
        fig.savefig(tmp, format="png")
        df.write_parquet(p)  # not the temp path: still raw
    with atomic_folder(p) as work:
        model.save_pretrained(work / "hf")
"""
    tree = ast.parse(src)
    finder = _Finder("x.py", _io_aliases(tree))
    finder.visit(tree)
    got = [(w.function, w.call) for w in finder.found]
    assert got == [
        ("bad", ".write_parquet"),
        ("bad", ".savefig"),
        ("bad", ".write_text"),
        ("bad", "json.dump"),
        ("bad", "open"),
        ("bad", ".open"),
        ("bad", ".save_pretrained"),
        ("good", ".write_parquet"),
    ]
