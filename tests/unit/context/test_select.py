"""Selection: the right definitions, within budget, deterministic, never a secret."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentls.context.engine import ContextEngine
from agentls.context.imports import Binding, ModuleMap, bindings
from agentls.model.tokens import count_tokens
from tests.unit.context.workspace import SECRET, make_workspace


@pytest.fixture
def engine(tmp_path: Path) -> ContextEngine:
    engine = ContextEngine(make_workspace(tmp_path / "ws"), tmp_path / "cache", workers=1)
    engine.build()
    return engine


def _found(selection: dict[str, object]) -> set[tuple[str, int]]:
    return {(s["path"], s["startLine"]) for s in selection["snippets"]}  # type: ignore[index, union-attr]


def test_python_task_gets_scope_definitions_through_imports_and_a_test(
    engine: ContextEngine,
) -> None:
    selection = engine.select("app/service.py", 5, 4, 2000).to_json()
    reasons = {(s["path"], s["startLine"]): s["reason"] for s in selection["snippets"]}
    assert reasons[("app/service.py", 5)].startswith("the enclosing function register")
    assert ("app/models.py", 1) in reasons  # class User, imported by name
    assert ("app/text.py", 4) in reasons  # text.slugify, through `from app import text`
    assert reasons[("tests/test_service.py", 4)] == "a test that uses register"
    assert "imported here" in reasons[("app/models.py", 1)]


def test_typescript_relative_import_is_resolved(engine: ContextEngine) -> None:
    found = _found(engine.select("web/client.ts", 3, 2, 1000).to_json())
    assert ("web/format.ts", 1) in found


def test_secrets_and_ignored_files_never_appear(engine: ContextEngine) -> None:
    # The ignored copies define the very names the task uses.
    for path, line in (("app/service.py", 5), ("tests/test_service.py", 4)):
        for budget in (300, 1000, 8000):
            text = json.dumps(engine.select(path, line, 0, budget).to_json())
            assert SECRET not in text
            for hidden in (".env", "credentials", "build/", "generated", "dropped", "private/"):
                assert hidden not in text
    assert engine.select(".env", 0, 0, 1000).snippets == []


def test_budget_is_respected_and_token_counts_are_exact(engine: ContextEngine) -> None:
    for budget in (60, 120, 250, 500, 4000):
        selection = engine.select("app/service.py", 6, 0, budget)
        assert selection.total_tokens <= budget
        for snippet in selection.snippets:
            assert snippet.tokens == count_tokens(snippet.render())
    # With room to spare the whole file goes in, around the scope, and nothing twice.
    big = engine.select("app/service.py", 6, 0, 4000)
    lines = [
        n
        for s in big.snippets
        if s.path == "app/service.py" and not s.reason.startswith("outline")
        for n in range(s.start_line, s.end_line + 1)
    ]
    assert sorted(lines) == list(range(1, 13))
    assert big.total_tokens > engine.select("app/service.py", 6, 0, 120).total_tokens


def test_same_input_gives_byte_identical_output(engine: ContextEngine, tmp_path: Path) -> None:
    first = json.dumps(engine.select("app/service.py", 6, 0, 700).to_json())
    assert json.dumps(engine.select("app/service.py", 6, 0, 700).to_json()) == first
    other = ContextEngine(engine.root, tmp_path / "other-cache", workers=1)
    other.build()
    assert json.dumps(other.select("app/service.py", 6, 0, 700).to_json()) == first


def test_unsaved_buffers_are_the_truth(engine: ContextEngine) -> None:
    # The user renamed slugify in an unsaved buffer and uses a new helper.
    engine.open("app/text.py", 1, "def make_slug(value: str) -> str:\n    return value\n")
    service = (engine.root / "app/service.py").read_text().replace("text.slugify", "text.make_slug")
    engine.open("app/service.py", 1, service)
    selection = engine.select("app/service.py", 6, 0, 2000).to_json()
    texts = "\n".join(s["text"] for s in selection["snippets"])
    assert "def make_slug" in texts
    assert "def slugify" not in texts
    engine.close("app/text.py")  # back to the disk
    engine.close("app/service.py")
    texts = "\n".join(s.text for s in engine.select("app/service.py", 6, 0, 2000).snippets)
    assert "def slugify" in texts


def test_recent_edits_are_offered(engine: ContextEngine) -> None:
    models = (engine.root / "app/models.py").read_text()
    engine.open("app/models.py", 1, models)
    engine.change("app/models.py", 2, models, lines=[11])
    found = _found(engine.select("app/text.py", 4, 0, 2000).to_json())
    assert ("app/models.py", 11) in found


def test_python_and_javascript_import_bindings() -> None:
    assert bindings("python", ["from .models import (User as U, Group)", "import os.path"]) == [
        Binding("U", ".models", "User"),
        Binding("Group", ".models", "Group"),
        Binding("os", "os.path", ""),
    ]
    assert bindings("typescript", ["import React, { useState as s } from 'react';"]) == [
        Binding("s", "react", "useState"),
        Binding("React", "react", "default"),
    ]
    modules = ModuleMap(["src/app/__init__.py", "src/app/models.py", "web/a/index.ts"])
    assert modules.resolve("python", "app.models", "src/app/x.py") == ["src/app/models.py"]
    assert modules.resolve("python", ".", "src/app/x.py") == ["src/app/__init__.py"]
    assert modules.resolve("python", "..models", "src/app/sub/x.py") == ["src/app/models.py"]
    assert modules.resolve("typescript", "./a", "web/b.ts") == ["web/a/index.ts"]
