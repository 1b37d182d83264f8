"""The teacher, resolved once per stage run into a value that travels with the requests.

:func:`resolve_teacher` finds the configured model's folder once and derives from it what
every teacher call needs: the identity (model, weight sha256, backend: part of each cache
key), its short label (the ``engine`` of every answered row) and the chat template around
each user message. :func:`sentidistill.teacher.generate.generate_table` and
:func:`sentidistill.teacher.scoring.score_table` take the result, so one stage run reads the
model's manifest and template once however many tables it asks for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sentidistill.teacher.config import SamplingParams, TeacherParams
from sentidistill.teacher.identity import identity_label, identity_of, locate_teacher


@dataclass(frozen=True)
class ResolvedTeacher:
    """A configured teacher with its identity and chat template (None: prompts go as they are)."""

    params: TeacherParams
    identity: dict[str, Any]
    templater: Callable[[str], str] | None = None

    @property
    def label(self) -> str:
        """Readable engine tag of the answered rows: ``llamacpp:<model>@<sha256[:12]>``."""
        return identity_label(self.identity)

    @property
    def parse_special(self) -> bool:
        """Templated prompts hold special-token strings the engine must parse as tokens."""
        return self.templater is not None

    def prompts(self, messages: Sequence[str]) -> list[str]:
        """What the teacher sees: each user message inside the chat template (when there is one)."""
        return [self.templater(m) for m in messages] if self.templater else list(messages)

    def sampling_for(self, name: str) -> SamplingParams:
        return self.params.sampling_for(name)

    def load_engine(self) -> Any:
        """An in-process engine of this teacher (label scoring; generation loads one per worker)."""
        from sentidistill.engines import load_engine

        return load_engine(self.params.model, self.params.engine)


def resolve_teacher(
    params: TeacherParams,
    *,
    identity: dict[str, Any] | None = None,
    templater: Callable[[str], str] | None | bool = True,
    models_dir: Any = None,
) -> ResolvedTeacher:
    """Resolve ``params`` once: its model folder, identity and chat template.

    ``identity`` and ``templater`` replace what the model folder would give (tests with fake
    engines; ``templater=False``: no chat template).
    """
    wants_template = templater is True and _templated(params)
    paths = locate_teacher(params, models_dir) if identity is None or wants_template else None
    ident = identity if identity is not None else identity_of(params, paths)
    if templater is True:
        template = _templater(params, paths, models_dir) if wants_template else None
    else:
        template = templater or None
    return ResolvedTeacher(params=params, identity=ident, templater=template)


def _templated(params: TeacherParams) -> bool:
    """Whether user messages go inside the chat template here: not for a base model, nor for an
    OpenAI server in chat mode (it applies its own template)."""
    return params.chat_template and not (params.engine.backend == "openai" and params.engine.openai.chat)


def _templater(params: TeacherParams, paths: Any, models_dir: Any) -> Callable[[str], str]:
    from sentidistill.teacher.template import ChatTemplater

    if paths is None:  # an OpenAI-served model without a folder: the template needs one (raises why)
        from sentidistill.models.store import model_paths

        paths = model_paths(params.model) if models_dir is None else model_paths(params.model, models_dir)
    return ChatTemplater(paths.hf_dir, params.system_prompt)
