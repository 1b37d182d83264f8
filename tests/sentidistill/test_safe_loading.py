"""Safe loading (issue #15 item 7): loading a model never runs its repository code or unpickles its weights, YAML
is loaded safely, and an API key read from the environment never reaches an output or a log line.

Three kinds of check: an AST scan of the code base (a new ``from_pretrained`` without ``trust_remote_code``, a
``torch.load`` without ``weights_only=True`` or a ``pickle`` import fails here, not in a review); loaders fed
booby-trapped folders (a pickle whose unpickling, or a modeling file whose import, leaves a mark on disk); and a
teacher run against the fake OpenAI server with a dummy key, whose every output byte and log line is searched.
"""

from __future__ import annotations

import ast
import json
import logging
import os
import pickle
import secrets
import shutil
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from sentidistill.models.registry import LocalSource, parse_models_config
from sentidistill.models.safe_load import PickleWeightsError, remote_code_allowed, require_safetensors
from sentidistill.paths import ROOT
from tests.support.openai_server import FakeOpenAIServer, answer_for

# ----------------------------------------------------------------------------- (a) static scan

SCANNED_DIRS = ("sentidistill", "stages", "schemas", "scripts", "bench")
# the dirs whose from_pretrained calls must follow the rules (bench/ loads only models/ folders it was given)
LOADER_DIRS = ("sentidistill", "stages")
PICKLE_MODULES = frozenset({"pickle", "_pickle", "cPickle", "dill", "cloudpickle", "joblib", "marshal", "shelve"})
UNSAFE_YAML = frozenset({"load", "load_all", "full_load", "full_load_all", "unsafe_load", "unsafe_load_all"})
SAFE_YAML_LOADERS = frozenset({"SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader"})
SAFE_RUAMEL_TYPS = frozenset({"rt", "safe", "base"})
CODE_BUILTINS = frozenset({"eval", "exec", "__import__"})
PICKLE_IO = frozenset({"read_pickle", "to_pickle"})


def _name(node: ast.AST) -> str:
    """Dotted name of a call's target (``transformers.AutoModel.from_pretrained``); '' when not a plain name."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _name(node.value)
        return f"{head}.{node.attr}" if head else node.attr
    return ""


def _is_const(node: ast.AST | None, value: object) -> bool:
    return isinstance(node, ast.Constant) and node.value is value


def _call_violations(call: ast.Call, where: str, loaders: bool) -> list[str]:
    name = _name(call.func)
    kw = {k.arg: k.value for k in call.keywords if k.arg}
    last = name.rsplit(".", 1)[-1]
    out = []
    if loaders and last == "from_pretrained":
        receiver = name.rsplit(".", 2)[-2] if "." in name else ""
        if "trust_remote_code" not in kw or _is_const(kw["trust_remote_code"], True):
            out.append(f"{where}: {name}() without trust_remote_code=<registry flag or False>")
        weights = "Tokenizer" not in receiver and "Config" not in receiver and "gguf_file" not in kw
        if weights and not _is_const(kw.get("use_safetensors"), True):
            out.append(f"{where}: {name}() without use_safetensors=True")
    if name == "torch.load" and not _is_const(kw.get("weights_only"), True):
        out.append(f"{where}: torch.load() without weights_only=True")
    if name.startswith("yaml.") and last in UNSAFE_YAML:
        loader = _name(kw["Loader"]).rsplit(".", 1)[-1] if "Loader" in kw else ""
        if loader not in SAFE_YAML_LOADERS:
            out.append(f"{where}: {name}() can build arbitrary Python objects: use yaml.safe_load")
    if last == "YAML" and "typ" in kw:
        typ = kw["typ"]
        typs = [e.value for e in typ.elts] if isinstance(typ, (ast.List, ast.Tuple)) else [getattr(typ, "value", None)]
        if not all(t in SAFE_RUAMEL_TYPS for t in typs):
            out.append(f"{where}: ruamel YAML(typ={typs}) is not a safe loader")
    if isinstance(call.func, ast.Name) and call.func.id in CODE_BUILTINS:
        literal_import = call.func.id == "__import__" and call.args and isinstance(call.args[0], ast.Constant)
        if not literal_import:  # __import__("os") names its module in the source: nothing is built at run time
            out.append(f"{where}: {call.func.id}() runs code built at run time")
    numpy_load = last == "load" and name.split(".")[0] in ("np", "numpy")
    if numpy_load and "allow_pickle" in kw and not _is_const(kw["allow_pickle"], False):
        out.append(f"{where}: {name}(allow_pickle=...) unpickles object arrays")
    if last in PICKLE_IO:
        out.append(f"{where}: {name}() is pickle")
    return out


def violations(source: str, filename: str, *, loaders: bool = True) -> list[str]:
    """Every unsafe-loading pattern in ``source`` (``loaders``: also the from_pretrained rules)."""
    out = []
    for node in ast.walk(ast.parse(source, filename)):
        where = f"{filename}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            out += [f"{where}: import {a.name}" for a in node.names if a.name.split(".")[0] in PICKLE_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in PICKLE_MODULES:
            out.append(f"{where}: from {node.module} import ...")
        elif isinstance(node, ast.Call):
            out += _call_violations(node, where, loaders)
    return out


BAD_SOURCE = """
import pickle
from joblib import load
import torch, yaml, numpy as np
from ruamel.yaml import YAML
AutoModelForCausalLM.from_pretrained(p)
AutoModelForCausalLM.from_pretrained(p, trust_remote_code=True, use_safetensors=True)
AutoModelForCausalLM.from_pretrained(p, trust_remote_code=False)
AutoTokenizer.from_pretrained(p)
torch.load(f)
torch.load(f, weights_only=False)
yaml.load(text)
yaml.load(text, Loader=yaml.FullLoader)
YAML(typ="unsafe")
eval("1 + 1")
exec("x = 1")
__import__(name)
np.load(f, allow_pickle=True)
df.to_pickle(f)
"""
BAD_COUNT = 17  # one per offending line above, two for the bare from_pretrained(p)

GOOD_SOURCE = """
import torch, yaml
from ruamel.yaml import YAML
AutoModelForCausalLM.from_pretrained(p, dtype=d, trust_remote_code=remote_code_allowed(p), use_safetensors=True)
AutoModelForCausalLM.from_pretrained(d, gguf_file=g, trust_remote_code=False)
AutoTokenizer.from_pretrained(p, trust_remote_code=spec.trust_remote_code)
torch.load(f, weights_only=True)
yaml.safe_load(text)
yaml.load(text, Loader=yaml.SafeLoader)
YAML()
YAML(typ="safe")
model.eval()
llm.eval(tokens)
__import__("os")
"""


def test_the_scanner_catches_each_pattern():
    """The repository scan below only means something if the scanner finds what it looks for."""
    found = violations(BAD_SOURCE, "bad.py")
    assert len(found) == BAD_COUNT, "\n".join(found)
    assert violations(GOOD_SOURCE, "good.py") == []


def test_code_base_loads_safely():
    found: list[str] = []
    for top in SCANNED_DIRS:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            found += violations(path.read_text(encoding="utf-8"), rel, loaders=top in LOADER_DIRS)
    assert found == [], "unsafe loading:\n" + "\n".join(found)


def test_trust_remote_code_stays_out_of_default_dumps():
    """Manifests record the source spec: an entry without the flag keeps its bytes, one with it says so."""
    plain = LocalSource(source="local", path="m")
    assert "trust_remote_code" not in plain.model_dump(mode="json") and plain.trust_remote_code is False
    trusted = LocalSource(source="local", path="m", trust_remote_code=True)
    assert trusted.model_dump(mode="json")["trust_remote_code"] is True
    assert LocalSource.model_validate(trusted.model_dump()) == trusted


# ----------------------------------------------------------------------------- (b) booby-trapped folders

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja")
TINY_LLAMA = {
    "vocab_size": 49152,
    "hidden_size": 16,
    "intermediate_size": 32,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "max_position_embeddings": 128,
    "tie_word_embeddings": True,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "pad_token_id": 2,
}
ENTRY = "trap-model"


class _Tripwire:
    """Unpickling this creates ``path``: a pickle runs code, and this proves whether it was run."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[str]]:
        return os.mkdir, (str(self.path),)


def _tiny_config(hf: Path) -> None:
    from transformers import LlamaConfig

    LlamaConfig(**TINY_LLAMA).save_pretrained(hf)


def _pickle_weights(hf: Path, mark: Path) -> None:
    (hf / "pytorch_model.bin").write_bytes(pickle.dumps(_Tripwire(mark)))


@pytest.fixture
def mark(tmp_path: Path) -> Path:
    """The path a tripwire creates when it fires."""
    return tmp_path / "tripwire-fired"


@pytest.fixture
def pickle_only(tmp_path: Path, mark: Path) -> Path:
    """An HF folder whose only weights are a pickle that fires the tripwire when loaded."""
    hf = tmp_path / "pickle-only"
    hf.mkdir()
    _tiny_config(hf)
    _pickle_weights(hf, mark)
    return hf


def test_the_tripwire_fires_when_unpickled(pickle_only: Path, mark: Path):
    pickle.loads((pickle_only / "pytorch_model.bin").read_bytes())  # what a careless loader would do
    assert mark.is_dir()


def _transformers_engine(hf: Path) -> Any:
    from sentidistill.engines.transformers_engine import TransformersEngine

    return TransformersEngine(hf)


def _load_engine(hf: Path) -> Any:
    from sentidistill.engines import EngineConfig, load_engine

    return load_engine(hf, EngineConfig(backend="transformers"))


def _vllm_engine(hf: Path) -> Any:
    from sentidistill.engines.vllm_engine import VLLMEngine

    return VLLMEngine(hf)  # refused before vLLM is imported, so this runs without a GPU


def _classifier(hf: Path) -> Any:
    from sentidistill.classifier.predict import EncoderClassifier

    return EncoderClassifier.load(hf)


def _untrained_classifier(hf: Path) -> Any:
    from sentidistill.classifier.predict import EncoderClassifier

    return EncoderClassifier.untrained(hf, ["negative", "positive"], seed=0)


def _materialize(hf: Path) -> Any:
    from sentidistill.models.materialize import convert_hf

    return convert_hf(LocalSource(source="local", path=str(hf)), hf.parent / "out", "float32")


def _interpolate(hf: Path) -> Any:
    from sentidistill.training.sft import interpolate_weights

    return interpolate_weights(object(), hf, 0.5)


LOADERS = {
    "transformers_engine": _transformers_engine,
    "load_engine": _load_engine,
    "vllm_engine": _vllm_engine,
    "classifier_load": _classifier,
    "classifier_untrained": _untrained_classifier,
    "materialize_local": _materialize,
    "sft_interpolate": _interpolate,
}


@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_pickle_only_folder_is_refused(loader: str, pickle_only: Path, mark: Path):
    with pytest.raises(PickleWeightsError, match=r"pytorch_model\.bin.*unpickling can run arbitrary code"):
        LOADERS[loader](pickle_only)
    assert not mark.exists()


def test_transformers_itself_refuses_pickles_with_use_safetensors(pickle_only: Path, mark: Path):
    """The second line of defence, for hub ids (no local folder to check first): ``use_safetensors=True``."""
    from transformers import AutoModelForCausalLM

    with pytest.raises(OSError, match="safetensors"):
        AutoModelForCausalLM.from_pretrained(pickle_only, trust_remote_code=False, use_safetensors=True)
    assert not mark.exists()


def test_require_safetensors_passes_hub_ids_and_safe_folders(tmp_path: Path):
    require_safetensors("org/model")  # not a local folder: transformers' use_safetensors=True guards it
    (tmp_path / "model.safetensors").write_bytes(b"")
    (tmp_path / "pytorch_model.bin").write_bytes(b"")
    require_safetensors(tmp_path)  # safetensors present: loaders take them and never open the .bin


CUSTOM_MODELING = """import os

os.mkdir({mark!r})  # importing this module is running the repository's code
"""


@pytest.fixture
def trapped_model(tmp_path: Path, mark: Path, tiny_model_paths) -> Path:
    """models/<name>/ layout: a real tiny Llama (safetensors) plus both traps, a pickle ``pytorch_model.bin`` and
    ``auto_map`` code. Returns the ``hf`` folder."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    root = tmp_path / "models" / ENTRY
    hf = root / "hf"
    hf.mkdir(parents=True)
    for name in TOKENIZER_FILES:
        if (tiny_model_paths.hf_dir / name).is_file():
            shutil.copy(tiny_model_paths.hf_dir / name, hf / name)
    torch.manual_seed(0)
    LlamaForCausalLM(LlamaConfig(**TINY_LLAMA)).save_pretrained(hf)
    _pickle_weights(hf, mark)
    (hf / "trap_modeling.py").write_text(CUSTOM_MODELING.format(mark=str(mark)), encoding="utf-8")
    config = json.loads((hf / "config.json").read_text(encoding="utf-8"))
    config["auto_map"] = {"AutoModelForCausalLM": "trap_modeling.TrapForCausalLM"}
    (hf / "config.json").write_text(json.dumps(config), encoding="utf-8")
    (root / "manifest.json").write_text(json.dumps({"name": ENTRY, "hf_dir": "hf", "gguf": None}), encoding="utf-8")
    return hf


def _registry(trust: bool) -> Any:
    entry = {"source": "local", "path": "unused", "trust_remote_code": trust}
    return parse_models_config({"registry": {ENTRY: entry}, "student": ENTRY, "teacher": ENTRY})


def test_remote_code_allowed_only_by_the_registry(trapped_model: Path, tmp_path: Path):
    assert remote_code_allowed(trapped_model, _registry(True)) is True
    assert remote_code_allowed(trapped_model, _registry(False)) is False
    assert remote_code_allowed(trapped_model) is False  # params.yaml has no such entry
    assert remote_code_allowed(tmp_path / "no-manifest") is False
    assert remote_code_allowed("org/model", _registry(True)) is False


def test_engine_runs_no_repository_code_and_no_pickle(trapped_model: Path, mark: Path):
    from sentidistill.engines.base import GenerationParams

    engine = _transformers_engine(trapped_model)  # the Llama class of transformers, safetensors weights
    assert type(engine.model).__name__ == "LlamaForCausalLM"
    engine.generate(["hi"], GenerationParams(max_new_tokens=1))
    assert not mark.exists()


def test_a_registry_entry_that_asks_runs_the_code(trapped_model: Path, mark: Path, tmp_path: Path, monkeypatch):
    """The other side of the switch: with ``trust_remote_code: true`` in the entry the code does run (so the test
    above would notice if the engine ignored the flag)."""
    import sys

    import transformers.dynamic_module_utils as dynamic

    monkeypatch.setattr("sentidistill.models.registry.load_models_config", lambda: _registry(True))
    monkeypatch.setattr(dynamic, "HF_MODULES_CACHE", str(tmp_path / "hf-modules"))  # not ~/.cache
    monkeypatch.setattr(sys, "path", list(sys.path))  # transformers appends its modules cache to sys.path
    with pytest.raises(Exception):  # noqa: B017 - the trap module defines no model class; importing it is the point
        _transformers_engine(trapped_model)
    assert mark.is_dir()


# ----------------------------------------------------------------------------- (c) the API key stays secret

KEY_ENV = "OPENAI_API_KEY"
N_PROMPTS = 6
MAX_CONCURRENCY = 2
CLIENT_TIMEOUT_S = 10.0


def _openai_teacher(base_url: str) -> Any:
    """The teacher group of tests/stages/teacher_child.py's tiny run, on the fake OpenAI server."""
    from sentidistill.params import parse_section
    from sentidistill.teacher.config import TeacherParams

    engine = {
        "backend": "openai",
        "openai": {
            "base_url": base_url,
            "model": "fake-teacher",
            "api_key_env": KEY_ENV,
            "max_concurrency": MAX_CONCURRENCY,
            "timeout_s": CLIENT_TIMEOUT_S,
        },
    }
    return parse_section(
        "teacher",
        {
            "model": "fake-teacher",
            "chat_template": False,
            "engine": engine,
            "runner": "local",
            "ray": {
                "num_cpus": 1,
                "object_store_memory_mb": 256,
                "actors": 1,
                "cpus_per_actor": 1,
                "gpus_per_actor": 0,
                "batch_size": 2,
            },
            "cache": {"dir": "cache", "shard_rows": 2},
            "sampling": {"knowdist": {"max_new_tokens": 24, "temperature": 0.0, "top_p": 1.0, "seed": 0}},
        },
        TeacherParams,
    )


@pytest.fixture
def every_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog at DEBUG for every logger, ``sentidistill`` included (it does not propagate to the root)."""
    from sentidistill.log import get_logger

    get_logger(__name__)  # sets the package logger up (its handler, propagate off) before we add ours
    pkg = logging.getLogger("sentidistill")
    level = pkg.level
    caplog.set_level(logging.DEBUG)
    pkg.setLevel(logging.DEBUG)
    pkg.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        pkg.removeHandler(caplog.handler)
        pkg.setLevel(level)


def secret_hits(root: Path, secret: str) -> list[str]:
    """Files under ``root`` holding ``secret``: raw bytes, and parquet cells decoded (compression hides bytes)."""
    hits = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if secret.encode() in path.read_bytes():
            hits.append(str(path))
        elif path.suffix == ".parquet" and secret in pl.read_parquet(path).write_ndjson():
            hits.append(f"{path} (decoded)")
    return hits


def _run(teacher: Any, work: Path) -> dict[str, Any]:
    from sentidistill.knowdist.task import KnowDistTask
    from sentidistill.teacher.resolve import resolve_teacher
    from sentidistill.teacher.task import run_task

    return run_task(
        KnowDistTask(["empty"]),
        resolve_teacher(teacher),
        work / "knowdist_prompts.parquet",
        work / "out",
        work / "cache",
        work / "stats.json",
    )


def _prompts(work: Path) -> list[str]:
    from tests.stages.teacher_child import make_prompts

    work.mkdir(parents=True)
    return make_prompts(work / "knowdist_prompts.parquet", N_PROMPTS)["user_message"].to_list()


def test_api_key_never_reaches_outputs_logs_or_cache_keys(tmp_path: Path, monkeypatch, every_log, capfd):
    keys = [f"sk-DUMMY-{secrets.token_hex(16)}" for _ in range(2)]
    runs = [tmp_path / "run-a", tmp_path / "run-b"]
    sent: list[list[str | None]] = []
    with FakeOpenAIServer() as srv:
        for key, work in zip(keys, runs):
            prompts = _prompts(work)
            # one 500 on the first prompt: the retry path (and its DEBUG log line) runs with the key set too
            srv.set_plan(lambda prompt, attempt, first=prompts[0]: "500" if prompt == first and attempt == 1 else "ok")
            monkeypatch.setenv(KEY_ENV, key)
            _run(_openai_teacher(srv.base_url), work)
            sent.append([r.authorization for r in srv.requests])
            assert srv.attempts() == N_PROMPTS + 1
            srv.reset()
    # a server that refuses the key: the error path (messages, stats of a failed run) must not carry it either
    failed = tmp_path / "run-refused"
    _prompts(failed)
    with FakeOpenAIServer(api_key="sk-the-server-wants-another") as srv, pytest.raises(Exception) as refused:
        _run(_openai_teacher(srv.base_url), failed)
    assert srv.requests and all(r.action == "unauthorized" for r in srv.requests)

    # the test can fail: the key did travel, in the header and nowhere else
    assert sent == [[f"Bearer {keys[0]}"] * (N_PROMPTS + 1), [f"Bearer {keys[1]}"] * (N_PROMPTS + 1)]
    corpus = pl.read_parquet(runs[0] / "out" / "knowdist_corpus.parquet")
    assert corpus["response"].to_list() == [answer_for(p) for p in corpus["prompt"].to_list()]
    logs = "\n".join(f"{r.name} {r.levelname} {r.getMessage()}" for r in every_log.records)
    captured = capfd.readouterr()
    assert any(r.name.startswith("sentidistill.teacher") for r in every_log.records)  # the capture works
    error_text = "".join(traceback.format_exception(refused.value))
    for key in keys:
        assert secret_hits(tmp_path, key) == []
        assert key not in logs and key not in captured.out and key not in captured.err and key not in error_text
    # cache keys and shard names do not depend on the key: the two runs wrote the same corpus and cache
    assert (runs[0] / "out" / "knowdist_corpus.parquet").read_bytes() == (
        runs[1] / "out" / "knowdist_corpus.parquet"
    ).read_bytes()
    assert sorted(p.name for p in (runs[0] / "cache").rglob("*.parquet")) == sorted(
        p.name for p in (runs[1] / "cache").rglob("*.parquet")
    )
