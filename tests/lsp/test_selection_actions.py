"""A selection's code action is one the client can complete: "Agent: edit selection…" for a
client that asks for the instruction itself (the VS Code extension), an instruction comment
to fill in for the others (Neovim, Emacs, Helix), whose own action then runs it."""

from __future__ import annotations

from typing import Any

from lsprotocol import types
from pygls.workspace import TextDocument

from tests.lsp.test_actions_and_settings import actions_at, at, vscode_extension
from tests.support.lsp_session import lsp_session

PY_URI = "file:///tmp/agentls-test/shop.py"
PY = "class Cart:\n    def total(self):\n        return sum(self.items)\n"


def apply_action(text: str, action: types.CodeAction) -> str:
    """What an editor does with the action's edit (checked against the version sent)."""
    assert action.edit is not None and action.command is None
    [change] = action.edit.document_changes or []
    assert isinstance(change, types.TextDocumentEdit)
    assert change.text_document.version == 0
    doc = TextDocument(change.text_document.uri, text, version=0)
    for edit in change.edits:
        assert isinstance(edit, types.TextEdit)
        doc.apply_change(
            types.TextDocumentContentChangePartial(range=edit.range, text=edit.new_text)
        )
    return doc.source


def selection(start: int, end: int) -> types.Range:
    return types.Range(start=at(start, 4), end=at(end, 10))


async def test_the_vscode_extension_gets_edit_selection() -> None:
    async with lsp_session(None, capabilities=vscode_extension()) as (client, editor):
        editor.open(PY_URI, PY)
        titles = [a.title for a in await actions_at(client, PY_URI, selection(1, 2))]
        assert "Agent: edit selection…" in titles
        assert "Agent: write an instruction for the selection" not in titles


async def run_arguments(actions: list[types.CodeAction]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for action in actions:
        if action.command is not None and action.command.command == "agentls.run":
            found += [dict(a or {}) for a in action.command.arguments or []]
    return found


async def test_an_editor_without_a_prompt_gets_a_comment_to_fill_in_then_its_action() -> None:
    for spec in ("neovim@v0.7.0", "emacs", "visual-studio-code"):  # VS Code without agentls
        async with lsp_session(None, capabilities=spec) as (client, editor):
            editor.open(PY_URI, PY)
            actions = await actions_at(client, PY_URI, selection(1, 2))
            titles = [a.title for a in actions]
            assert "Agent: edit selection…" not in titles, spec
            # every agentls.run offered carries its instruction: none fails with -32602
            assert all(args.get("instruction") for args in await run_arguments(actions))
            [comment] = [a for a in actions if a.title.startswith("Agent: write an instruction")]
            text = apply_action(PY, comment)
            assert text == (
                "class Cart:\n    # agent: \n    def total(self):\n        return sum(self.items)\n"
            )
    async with lsp_session(None, capabilities="neovim@v0.7.0") as (client, editor):
        filled = text.replace("# agent: ", "# agent: skip items that are None")
        editor.open(PY_URI, filled)
        actions = await actions_at(client, PY_URI, types.Range(start=at(1, 0), end=at(1, 0)))
        [run] = [a for a in actions if a.title == "Agent: skip items that are None"]
        assert run.command is not None and run.command.command == "agentls.run"
        [args] = run.command.arguments or []
        assert isinstance(args, dict) and args["instruction"] == "skip items that are None"


async def test_the_comment_has_the_language_syntax_and_the_line_indentation() -> None:
    files = [
        ("file:///tmp/agentls-test/a.ts", "typescript", "f();\n\tg();\n", "\t// agent: \n"),
        ("file:///tmp/agentls-test/a.lua", "lua", "x = 1\n  y = 2\n", "  -- agent: \n"),
        ("file:///tmp/agentls-test/a.html", "html", "<p>\n <b>x</b>\n", " <!-- agent:  -->\n"),
        ("file:///tmp/agentls-test/a.css", "css", "a {\n  b: c;\n}\n", "  /* agent:  */\n"),
    ]
    async with lsp_session(None, capabilities="emacs") as (client, editor):
        for uri, language, text, comment in files:
            editor.open(uri, text, language_id=language)
            rng = types.Range(start=at(1, 1), end=at(1, 3))
            actions = await actions_at(client, uri, rng)
            [action] = [a for a in actions if a.title.startswith("Agent: write an instruction")]
            lines = text.split("\n")
            assert apply_action(text, action) == "\n".join(
                [lines[0], comment + lines[1], *lines[2:]]
            )
