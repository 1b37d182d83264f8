"""Wrap user messages in the teacher's chat template (the user turn + generation prompt).

The student is trained on the plain user message; only the teacher sees the template.
The template is the model folder's ``chat_template.jinja`` (or ``tokenizer_config.json``'s
``chat_template``) rendered with jinja2 the way ``transformers``' ``apply_chat_template``
does (sandboxed, ``trim_blocks``/``lstrip_blocks``), without importing transformers, so a
warm-cache run starts in a second (tests check equality with transformers).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any


def _raise(message: str) -> None:
    from jinja2.exceptions import TemplateError

    raise TemplateError(message)


class ChatTemplater:
    def __init__(self, hf_dir: str | Path, system_prompt: str | None = None) -> None:
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        hf_dir = Path(hf_dir)
        config: dict[str, Any] = {}
        if (hf_dir / "tokenizer_config.json").is_file():
            config = json.loads((hf_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
        source = hf_dir / "chat_template.jinja"
        template = source.read_text(encoding="utf-8") if source.is_file() else config.get("chat_template")
        if not template:
            raise ValueError(f"{hf_dir} has no chat template: set teacher.chat_template: false for a base model")
        env = ImmutableSandboxedEnvironment(
            trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"]
        )
        env.filters["tojson"] = lambda x, indent=None, ensure_ascii=False, separators=None, sort_keys=False: json.dumps(
            x, indent=indent, ensure_ascii=ensure_ascii, separators=separators, sort_keys=sort_keys
        )
        env.globals["raise_exception"] = _raise
        env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
        self.template = env.from_string(template)
        self.special = {k: _token_str(config.get(k)) for k in ("bos_token", "eos_token", "unk_token", "pad_token")}
        self.system_prompt = system_prompt

    def __call__(self, user_message: str) -> str:
        messages = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        messages.append({"role": "user", "content": user_message})
        return self.template.render(messages=messages, add_generation_prompt=True, **self.special)


def _token_str(tok: Any) -> str | None:
    if isinstance(tok, dict):
        return tok.get("content")
    return tok
