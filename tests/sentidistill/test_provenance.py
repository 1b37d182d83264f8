"""Provenance helpers: repository-relative paths, code revision, library versions."""

from pathlib import Path

from sentidistill import paths
from sentidistill.provenance import code_revision, library_versions, repo_relative


def test_repo_relative_rewrites_paths_inside_the_repository_only(tmp_path):
    root = tmp_path / "repo"
    (root / "models" / "m").mkdir(parents=True)
    value = {
        "model": str(root / "models" / "m"),
        "nested": [str(root / "models"), "/elsewhere/model.gguf", "not/a/path", 3],
        "name": "smollm2",
    }
    assert repo_relative(value, root) == {
        "model": "models/m",
        "nested": ["models", "/elsewhere/model.gguf", "not/a/path", 3],
        "name": "smollm2",
    }


def test_code_revision_of_this_checkout_and_outside_git(tmp_path):
    rev = code_revision(paths.ROOT)
    assert len(rev["git_revision"]) == 40 and isinstance(rev["code_modified"], bool)
    assert code_revision(Path(tmp_path)) == {"git_revision": "unknown", "code_modified": None}


def test_library_versions_names_python_and_marks_missing_packages():
    v = library_versions(["torch", "no-such-package-xyz"])
    assert v["python"].count(".") == 2 and v["torch"] and v["no-such-package-xyz"] is None
