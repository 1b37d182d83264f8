"""The teacher resolved once per stage run; the service imports no task package."""

import ast
from pathlib import Path

import pytest

import sentidistill.models.store as store
from sentidistill.teacher.identity import identity_label, teacher_identity
from sentidistill.teacher.resolve import ResolvedTeacher, resolve_teacher
from tests.sentidistill.teacher.conftest import IDENTITY, teacher_params

TEACHER_DIR = Path(__file__).resolve().parents[3] / "sentidistill" / "teacher"
TASK_PACKAGES = ("sentidistill.knowdist", "sentidistill.icldist", "sentidistill.classifier")


def test_the_teacher_service_imports_no_task_package():
    found = []
    for path in sorted(TEACHER_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            found += [f"{path.name}: {n}" for n in names if n.startswith(TASK_PACKAGES)]
    assert found == []


def test_overrides_need_no_model_folder(monkeypatch):
    monkeypatch.setattr(store, "model_paths", lambda *a, **k: pytest.fail("resolved a model folder"))
    t = resolve_teacher(teacher_params(), identity=IDENTITY, templater=False)
    assert isinstance(t, ResolvedTeacher) and t.templater is None and not t.parse_special
    assert t.label == identity_label(IDENTITY) and t.prompts(["a", "b"]) == ["a", "b"]
    upper = resolve_teacher(teacher_params(chat_template=True), identity=IDENTITY, templater=str.upper)
    assert upper.prompts(["a"]) == ["A"] and upper.parse_special


def test_chat_template_off_or_served_by_the_server_means_no_templater(monkeypatch):
    monkeypatch.setattr(store, "model_paths", lambda *a, **k: pytest.fail("resolved a model folder"))
    assert resolve_teacher(teacher_params(chat_template=False), identity=IDENTITY).templater is None
    served = teacher_params(chat_template=True, engine={"backend": "openai", "openai": {"chat": True}})
    assert resolve_teacher(served, identity=IDENTITY).templater is None


@pytest.mark.slow
def test_one_model_folder_lookup_gives_identity_and_template(tiny_model_paths, monkeypatch):
    calls = []
    real = store.model_paths
    monkeypatch.setattr(store, "model_paths", lambda *a, **k: calls.append(a) or real(*a, **k))
    t = resolve_teacher(teacher_params(chat_template=True))
    assert len(calls) == 1  # identity and chat template from one lookup
    assert t.identity == teacher_identity(teacher_params()) and t.prompts(["hi"])[0].startswith("<|im_start|>")
