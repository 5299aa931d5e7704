"""The set-up the edit attacks (tests/lsp/test_edit_attacks*.py) share: the calc.py
document the focused rewrite works on, a session whose editor lets the test act inside
its applyEdit handler, and the options and workspace of the full agent's attacks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.support.attack_tools import AttackEditor, Phase
from tests.support.lsp_session import lsp_session, model_options
from tests.support.model_server import ScriptedModelServer, Step, tool_call_reply

# -- the document of the focused rewrite's attacks ---------------------------------------

URI = "file:///tmp/agentls-test/calc.py"
SOURCE = """import math


def area(r):
    return 3.14 * r * r


def other():
    return 1
"""
OLD_AREA = "def area(r):\n    return 3.14 * r * r\n"
NEW_AREA = '''def area(r):
    """Area of a circle of radius r."""
    return math.pi * r * r
'''
LONG_AREA = '''def area(r):
    """Area of a circle of radius r."""
    if r < 0:
        raise ValueError("negative radius")
    squared = r * r
    return math.pi * squared
'''
REGION = {  # the lines of area()
    "start": types.Position(line=3, character=0),
    "end": types.Position(line=5, character=0),
}

Hook = Callable[[AttackEditor, types.ApplyWorkspaceEditParams, Phase], None]


@asynccontextmanager
async def attack_session(
    init_options: Any, hook: Hook | None = None, **session: Any
) -> AsyncIterator[tuple[LanguageClient, AttackEditor]]:
    """``lsp_session`` with an ``AttackEditor`` whose applyEdit handler calls ``hook``."""
    async with lsp_session(init_options, editor_class=AttackEditor, **session) as (
        client,
        editor,
    ):
        assert isinstance(editor, AttackEditor)
        editor.hook = hook
        yield client, editor


@asynccontextmanager
async def calc_session(
    model: ScriptedModelServer,
    text: str = SOURCE,
    options: Any = None,
    hook: Hook | None = None,
    **editor_options: Any,
) -> AsyncIterator[tuple[LanguageClient, AttackEditor]]:
    """A session on the scripted ``model`` (or ``options``) with calc.py open, holding
    ``text``."""
    init_options = options if options is not None else model_options(model.base_url)
    async with attack_session(init_options, hook, **editor_options) as (client, editor):
        editor.open(URI, text)
        yield client, editor


def edits_of(params: types.ApplyWorkspaceEditParams) -> list[types.TextEdit]:
    """The text edits of an applyEdit, all documents together."""
    return [e for dc in params.edit.document_changes or [] for e in getattr(dc, "edits", [])]


def writes(params: types.ApplyWorkspaceEditParams, needle: str) -> bool:
    """Whether an edit of this applyEdit inserts text holding ``needle``."""
    return any(needle in e.new_text for e in edits_of(params))


# -- the full agent (agentls.run without a range) ----------------------------------------


def agent_options(model: ScriptedModelServer) -> dict[str, Any]:
    """The scripted model, with edits approved automatically."""
    return {**model_options(model.base_url), "agent": {"approval": "auto-edit"}}


def cache_env(tmp_path: Path) -> dict[str, str]:
    return {"AGENTLS_CACHE_DIR": str(tmp_path / "cache")}


@asynccontextmanager
async def agent_session(
    model: ScriptedModelServer, tmp_path: Path, root: Path, hook: Hook | None = None, **editor: Any
) -> AsyncIterator[tuple[LanguageClient, AttackEditor]]:
    """A session for the full agent on the workspace ``root``, its cache under ``tmp_path``."""
    async with attack_session(
        agent_options(model), hook, root_uri=root.as_uri(), env=cache_env(tmp_path), **editor
    ) as (client, attack_editor):
        yield client, attack_editor


def finish(summary: str = "done") -> Step:
    return tool_call_reply([("finish", {"summary": summary})])
