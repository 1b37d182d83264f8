"""What our Hugging Face loaders may run while loading a model: no pickle, no repository code by default.

Two ways a model folder can execute code on the machine that loads it:

* pickle weights (``pytorch_model.bin``, ``*.pt``, ``*.ckpt``): unpickling runs whatever the file says. Every
  folder this pipeline writes holds ``*.safetensors`` (``save_pretrained``'s default, ``safe_serialization=True``
  in training), so our loaders pass ``use_safetensors=True`` and :func:`require_safetensors` refuses a local folder
  that only has pickles, with a message that says so (instead of transformers' "no file named model.safetensors").
* repository code (``auto_map`` in ``config.json`` + ``modeling_*.py``): only with ``trust_remote_code=True``,
  which :func:`remote_code_allowed` gives only when the registry entry behind the folder sets
  ``trust_remote_code: true`` in params.yaml. The folder's own files cannot turn it on: its manifest only names
  the entry, the decision is the registry's.
"""

from __future__ import annotations

import json
from pathlib import Path

from sentidistill.log import get_logger
from sentidistill.models.folder import MANIFEST
from sentidistill.models.registry import ModelsConfig

log = get_logger(__name__)

SAFETENSORS_SUFFIX = ".safetensors"
SAFETENSORS_INDEX = "model.safetensors.index.json"
# weight files that are pickles (or may be: torch.save, TF/Flax checkpoints transformers would convert)
PICKLE_SUFFIXES = frozenset({".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".h5", ".msgpack"})
# manifest keys that name a registry entry: a materialized model's own name, a trained student's starting model
ENTRY_KEYS = ("name", "base_model")


class PickleWeightsError(ValueError):
    """A model folder whose weights exist only as pickle files: loading them could run arbitrary code."""


def require_safetensors(model: str | Path) -> None:
    """Refuse a local folder whose weights are only pickles; a hub id passes (``use_safetensors=True`` guards it)."""
    root = Path(model)
    if not root.is_dir():
        return
    if (root / SAFETENSORS_INDEX).is_file() or any(root.glob(f"*{SAFETENSORS_SUFFIX}")):
        return
    pickles = sorted(p.name for p in root.iterdir() if p.is_file() and p.suffix.lower() in PICKLE_SUFFIXES)
    if pickles:
        raise PickleWeightsError(
            f"{root}: weights only as pickle files ({', '.join(pickles)}) and no *.safetensors. Refusing to load "
            "them: unpickling can run arbitrary code. Where you trust the folder, convert it once "
            "(from_pretrained(..., use_safetensors=False) then save_pretrained(...), which writes safetensors) "
            "and point the registry at the converted folder."
        )


def _manifest(model: Path) -> dict:
    for path in (model.parent / MANIFEST, model / MANIFEST):
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return {}
            return data if isinstance(data, dict) else {}
    return {}


def remote_code_allowed(model: str | Path, config: ModelsConfig | None = None) -> bool:
    """``trust_remote_code`` for loading ``model`` (a folder ``models/<name>/hf``, an HF folder or a hub id).

    True only when the folder's manifest names a registry entry that sets ``trust_remote_code: true``; anything
    else (no manifest, an entry without the flag, an unreadable params.yaml) is False.
    """
    names = [n for k in ENTRY_KEYS if isinstance(n := _manifest(Path(model)).get(k), str)]
    if not names:
        return False
    if config is None:
        from sentidistill.models.registry import load_models_config
        from sentidistill.params import ParamsError

        try:
            config = load_models_config()
        except (ParamsError, OSError) as exc:
            log.debug("trust_remote_code off for %s: cannot read the registry (%s)", model, exc)
            return False
    allowed = any(getattr(config.registry.get(n), "trust_remote_code", False) is True for n in names)
    if allowed:
        log.warning(
            "%s: trust_remote_code on (registry entry %s asks for it): its repository code will run",
            model,
            "/".join(names),
        )
    return allowed


__all__ = ["PickleWeightsError", "remote_code_allowed", "require_safetensors"]
