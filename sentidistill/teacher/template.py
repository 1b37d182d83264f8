"""Wrap user messages in the teacher's chat template (the user turn + generation prompt).

The student is trained on the plain user message; only the teacher sees the template.
"""

from __future__ import annotations

from pathlib import Path


class ChatTemplater:
    def __init__(self, hf_dir: str | Path, system_prompt: str | None = None) -> None:
        from transformers import AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(str(hf_dir))
        if not getattr(self.tokenizer, "chat_template", None):
            raise ValueError(f"{hf_dir} has no chat template: set teacher.chat_template: false for a base model")
        self.system_prompt = system_prompt

    def __call__(self, user_message: str) -> str:
        messages = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        messages.append({"role": "user", "content": user_message})
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
