"""Attacks on the full agent's edits of an open buffer (agentls.run without a range):
the user types while the model is silent, while an edit_file is in flight, during
undo; undo twice at once; a cancel that lands while an edit is in flight."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lsprotocol import types

from tests.support.attack_tools import (
    AttackEditor,
    Phase,
    one_write,
    send_command,
    send_run,
    until,
)
from tests.support.edit_attacks import agent_session, finish, writes
from tests.support.lsp_session import command
from tests.support.model_server import ScriptedModelServer, Step, tool_call_reply
from tests.unit.context.workspace import make_workspace

TEXT = (
    "import re\n\n\n"
    "def slugify(value: str) -> str:\n"
    '    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")\n'
)
EDIT = (
    "edit_file",
    {
        "path": "app/text.py",
        "old_string": "def slugify(value: str) -> str:",
        "new_string": "def slugify(value: str, sep: str = '-') -> str:",
    },
)
EDITED = TEXT.replace("value: str)", "value: str, sep: str = '-')")


def text_workspace(tmp_path: Path) -> tuple[Path, str]:
    """The sample workspace and the uri of its app/text.py (the file TEXT is)."""
    root = make_workspace(tmp_path / "ws")
    return root, (root / "app/text.py").as_uri()


async def test_typing_while_the_model_thinks_is_kept_and_survives_undo(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """The model read the buffer; while it thinks, the user adds lines above and below
    the function. The edit lands on the function, their lines stay; undo takes out the
    agent's change only."""
    root, uri = text_workspace(tmp_path)
    holder: list[AttackEditor] = []

    def edit_after_typing(body: dict[str, Any]) -> Step:
        editor = holder[0]
        editor.type(uri, 1, 0, "import os\n")
        end = len(editor.text(uri).split("\n")) - 1
        editor.type(uri, end, 0, "\n\nSLUG = slugify('A B')\n")
        return tool_call_reply([EDIT])

    model.enqueue(
        tool_call_reply([("read_file", {"path": "app/text.py"})]), edit_after_typing, finish()
    )
    async with agent_session(model, tmp_path, root) as (client, editor):
        holder.append(editor)
        editor.open(uri, TEXT)
        result = await send_run(client, {"instruction": "add sep", "uri": uri})
        mine = TEXT.replace("import re\n", "import re\nimport os\n") + "\n\nSLUG = slugify('A B')\n"
        expected = mine.replace("value: str)", "value: str, sep: str = '-')")
        assert editor.text(uri) == expected
        assert result["status"] == "done", result
        assert result["editedFiles"] == [uri]
        undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        assert undone["status"] == "undone", undone
        assert editor.text(uri) == mine


async def test_a_keystroke_that_lands_while_the_edit_is_in_flight(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """The user's keystroke (above the function) reaches the editor just before the
    agent's edit: the editor refuses the stale edit; the agent's change must still land
    on the new text, the keystroke kept."""
    root, uri = text_workspace(tmp_path)
    typed: list[bool] = []

    def hook(ed: AttackEditor, params: types.ApplyWorkspaceEditParams, phase: Phase) -> None:
        if phase == "before" and not typed and writes(params, "sep"):
            typed.append(True)
            ed.type(uri, 0, 0, "# hello\n")

    model.enqueue(tool_call_reply([EDIT]), finish())
    async with agent_session(model, tmp_path, root, hook) as (client, editor):
        editor.open(uri, TEXT)
        result = await send_run(client, {"instruction": "add sep", "uri": uri})
        assert typed
        assert editor.text(uri) == "# hello\n" + EDITED
        assert result["editedFiles"] == [uri], result


async def test_a_keystroke_in_the_inserted_text_right_after_the_edit_lands(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """The agent's edit lands and, in the same moment, the user changes a character of
    the text it just inserted: whether the edit is in cannot be told by merging, so the
    step is kept (the answer names the file; undo refuses naming the line)."""
    root, uri = text_workspace(tmp_path)
    typed: list[bool] = []

    def hook(ed: AttackEditor, params: types.ApplyWorkspaceEditParams, phase: Phase) -> None:
        if phase == "after" and not typed and writes(params, "sep"):
            typed.append(True)
            at = ed.position_of(uri, "'-')")
            ed.type(uri, at.line, at.character + 1, "_", end=(at.line, at.character + 2))

    model.enqueue(tool_call_reply([EDIT]), finish())
    async with agent_session(model, tmp_path, root, hook) as (client, editor):
        editor.open(uri, TEXT)
        result = await send_run(client, {"instruction": "add sep", "uri": uri})
        assert typed
        text = editor.text(uri)
        assert "sep: str = '_') -> str:" in text, text
        # The agent's change is in the buffer: the answer must name the file.
        assert result["editedFiles"] == [uri], result
        undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        assert editor.text(uri) == text or undone["status"] == "undone", undone
        if undone["status"] == "refused":
            assert "line 4" in undone["message"], undone


async def test_a_keystroke_next_to_the_edit_right_after_it_lands(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """Control: a keystroke on the edited line, at other characters, in the same
    moment: the step is recorded (landed() compares by characters)."""
    root, uri = text_workspace(tmp_path)
    typed: list[bool] = []

    def hook(ed: AttackEditor, params: types.ApplyWorkspaceEditParams, phase: Phase) -> None:
        if phase == "after" and not typed and writes(params, "sep"):
            typed.append(True)
            at = ed.position_of(uri, "-> str:")
            ed.type(uri, at.line, at.character, "  ")

    model.enqueue(tool_call_reply([EDIT]), finish())
    async with agent_session(model, tmp_path, root, hook) as (client, editor):
        editor.open(uri, TEXT)
        result = await send_run(client, {"instruction": "add sep", "uri": uri})
        assert typed
        assert "sep: str = '-')   -> str:" in editor.text(uri)
        assert result["editedFiles"] == [uri], result
        undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        assert undone["status"] == "undone", undone
        assert editor.text(uri) == TEXT.replace(") -> str:", ")   -> str:")


async def test_a_cancel_while_the_edit_is_in_flight(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root, uri = text_workspace(tmp_path)
    cancels: list[Any] = []

    def hook(ed: AttackEditor, params: types.ApplyWorkspaceEditParams, phase: Phase) -> None:
        if phase == "after" and not cancels and writes(params, "sep"):
            cancels.append(send_command(ed.client, "agentls.cancel", {}))

    model.enqueue(tool_call_reply([EDIT]), finish())
    # eglot-like: didChange comes a while after the answer
    async with agent_session(model, tmp_path, root, hook, change_delay=0.5) as (client, editor):
        editor.open(uri, TEXT)
        result = await send_run(client, {"instruction": "add sep", "uri": uri})
        await cancels[0]
        await until(lambda: not editor._pending, what="the delayed didChange")
        text = editor.text(uri)
        if text == EDITED:  # the agent's change stayed: say so, and let undo take it out
            assert result["editedFiles"] == [uri], result
            undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
            assert undone["status"] == "undone", undone
            assert editor.text(uri) == TEXT
        else:
            assert text == TEXT


async def test_typing_while_the_undo_edit_is_in_flight(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """The undo meets a keystroke: nothing is lost; undo either retried or refused
    saying so, and a second undo finishes the job."""
    root, uri = text_workspace(tmp_path)
    typed: list[bool] = []

    def hook(ed: AttackEditor, params: types.ApplyWorkspaceEditParams, phase: Phase) -> None:
        if phase == "before" and not typed:  # armed once the task is done: the undo edit
            typed.append(True)
            ed.type(uri, 0, 0, "# mine\n")

    model.enqueue(tool_call_reply([EDIT]), finish())
    async with agent_session(model, tmp_path, root) as (client, editor):
        editor.open(uri, TEXT)
        result = await send_run(client, {"instruction": "add sep", "uri": uri})
        assert editor.text(uri) == EDITED
        editor.hook = hook
        undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        assert typed
        if undone["status"] == "refused":
            assert editor.text(uri) == "# mine\n" + EDITED
            undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        assert undone["status"] == "undone", undone
        assert editor.text(uri) == "# mine\n" + TEXT


async def test_two_undos_of_the_agent_at_once(model: ScriptedModelServer, tmp_path: Path) -> None:
    root, uri = text_workspace(tmp_path)
    model.enqueue(tool_call_reply([EDIT]), finish())
    async with agent_session(model, tmp_path, root) as (client, editor):
        editor.open(uri, TEXT)
        result = await send_run(client, {"instruction": "add sep", "uri": uri})
        assert editor.text(uri) == EDITED
        with one_write(client):
            first = send_command(client, "agentls.undo", {"taskId": result["taskId"]})
            second = send_command(client, "agentls.undo", {"taskId": result["taskId"]})
        answers = [await first, await second]
        assert editor.text(uri) == TEXT, answers
        assert [a["status"] for a in answers].count("undone") >= 1, answers
        again = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        assert editor.text(uri) == TEXT, again


async def test_undo_twice_of_the_agent(model: ScriptedModelServer, tmp_path: Path) -> None:
    root, uri = text_workspace(tmp_path)
    model.enqueue(tool_call_reply([EDIT]), finish())
    async with agent_session(model, tmp_path, root) as (client, editor):
        editor.open(uri, TEXT)
        result = await send_run(client, {"instruction": "add sep", "uri": uri})
        undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        assert undone["status"] == "undone", undone
        assert editor.text(uri) == TEXT
        again = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        assert editor.text(uri) == TEXT
        assert again["status"] == "refused", again


async def test_close_and_reopen_between_read_and_edit(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """The model read the unsaved buffer; the user closes it without saving and opens
    it again (the disk's text) while the model thinks. The edit must land on the text
    the editor has now, never at offsets of the text that was closed."""
    root, uri = text_workspace(tmp_path)
    unsaved = "# draft 1\n# draft 2\n# draft 3\n" + TEXT
    holder: list[AttackEditor] = []

    def reopen_then_edit(body: dict[str, Any]) -> Step:
        editor = holder[0]
        editor.close(uri)
        editor.open(uri, TEXT, version=3)
        return tool_call_reply([EDIT])

    model.enqueue(
        tool_call_reply([("read_file", {"path": "app/text.py"})]), reopen_then_edit, finish()
    )
    async with agent_session(model, tmp_path, root) as (client, editor):
        holder.append(editor)
        editor.open(uri, unsaved)
        result = await send_run(client, {"instruction": "add sep", "uri": uri})
        assert editor.text(uri) in (TEXT, EDITED), editor.text(uri)
        assert (editor.text(uri) == EDITED) == (result["editedFiles"] == [uri]), result


async def test_the_user_opens_the_file_and_types_as_the_agents_edit_arrives(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """The agent edits a file no buffer has open (an edit without a version); the user
    opens that file and types a line at the top just before the edit reaches the editor.
    The edit must not land at positions of the text without that line (the server sees
    it land there and puts it right); undo then keeps the user's line."""
    root = make_workspace(tmp_path / "ws")
    path = root / "app/service.py"
    uri = path.as_uri()
    edit = (
        "edit_file",
        {"path": "app/service.py", "old_string": "return 42", "new_string": "return 43"},
    )
    typed: list[bool] = []

    def hook(ed: AttackEditor, params: types.ApplyWorkspaceEditParams, phase: Phase) -> None:
        changes = params.edit.document_changes or []
        uris = [dc.text_document.uri for dc in changes if isinstance(dc, types.TextDocumentEdit)]
        if phase == "before" and not typed and uri in uris:
            typed.append(True)
            ed.open(uri, path.read_text())
            ed.type(uri, 0, 0, "import os\n")

    model.enqueue(tool_call_reply([edit]), finish())
    async with agent_session(model, tmp_path, root, hook) as (client, editor):
        result = await send_run(client, {"instruction": "43"})
        assert typed
        text = editor.text(uri)
        assert text.startswith("import os\nfrom app.models import User\n"), text
        assert "return 43\n" in text and "return 42" not in text, text
        assert text == "import os\n" + path.read_text().replace("return 42", "return 43")
        assert result["status"] == "done", result
        undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        assert undone["status"] == "undone", undone
        assert editor.text(uri) == "import os\n" + path.read_text(), editor.text(uri)
