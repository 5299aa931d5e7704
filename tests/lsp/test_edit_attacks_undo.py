"""Attacks on cancel, the restore after it, and undo of a focused rewrite: the user
cancels at once, types while the restore or the undo edit is in flight, undoes twice
at once, undoes after accept, closes and reopens the document."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from lsprotocol import types

from tests.support.attack_tools import (
    AttackEditor,
    Phase,
    fenced,
    one_write,
    send_command,
    send_run,
    type_at,
    until,
)
from tests.support.edit_attacks import (
    LONG_AREA,
    OLD_AREA,
    REGION,
    SOURCE,
    URI,
    calc_session,
    writes,
)
from tests.support.lsp_session import command, model_options, run
from tests.support.model_server import ScriptedModelServer, hang_reply, text_reply


def ask(**extra: Any) -> dict[str, Any]:
    return {"instruction": "docstring", "uri": URI, "range": REGION, **extra}


def new_text() -> str:
    return SOURCE.replace(OLD_AREA, LONG_AREA)


async def test_cancel_sent_with_the_command_changes_nothing(model: ScriptedModelServer) -> None:
    model.enqueue(hang_reply())
    async with calc_session(model) as (client, editor):
        with one_write(client):
            answer = send_run(client, ask())
            cancelled = send_command(client, "agentls.cancel", {})
        result = await answer
        await cancelled
        assert result["status"] in ("cancelled", "failed"), result
        assert result["editedFiles"] == []
        assert editor.text(URI) == SOURCE
        assert not editor.log


async def test_cancel_with_keep_names_the_file_and_undo_restores(
    model: ScriptedModelServer,
) -> None:
    """edits.onCancel = keep: the finished lines stay after a cancel. The answer must
    then say so: the file is edited, and agentls.undo takes the lines out."""
    model.enqueue(text_reply(fenced(LONG_AREA), chunk="line", tokens_per_second=3))
    options = {**model_options(model.base_url), "edits": {"onCancel": "keep"}}
    async with calc_session(model, options=options) as (client, editor):
        answer = send_run(client, ask())
        await until(lambda: "Area of a circle" in editor.text(URI), what="a streamed line")
        await command(client, "agentls.cancel", {})
        result = await answer
        assert "Area of a circle" in editor.text(URI)  # kept, as the setting asks
        assert result["status"] == "cancelled", result
        assert result["editedFiles"] == [URI], result
        undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        assert undone["status"] == "undone", undone
        assert editor.text(URI) == SOURCE


async def test_cancel_after_typing_in_a_written_line_tells_that_lines_stay(
    model: ScriptedModelServer,
) -> None:
    """While the model is silent between two lines, the user edits a line the agent
    wrote, then cancels. The original cannot come back without losing their edit, so
    the agent's lines stay: the answer must say the file is edited."""
    model.enqueue(text_reply(fenced(LONG_AREA), chunk="line", tokens_per_second=1))
    async with calc_session(model) as (client, editor):
        answer = send_run(client, ask())
        await until(lambda: "Area of a circle" in editor.text(URI), what="a streamed line")
        await asyncio.sleep(0.4)  # past the server's wait for the rest of that edit
        type_at(editor, URI, "radius r.", " (metres)", after=True)
        await command(client, "agentls.cancel", {})
        result = await answer
        text = editor.text(URI)
        assert "(metres)" in text, text
        if "Area of a circle" in text:  # the agent's line stayed: say so
            assert result["editedFiles"] == [URI], result
            assert "left as it was" not in result["summary"], result


async def test_cancel_right_after_typing_into_the_line_just_written(
    model: ScriptedModelServer,
) -> None:
    """The user's keystroke in the line the agent just wrote reaches the editor with
    that edit, and the cancel comes at once: the answer must not say nothing changed."""
    model.enqueue(text_reply(fenced(LONG_AREA), chunk="line", tokens_per_second=1))
    cancels: list[Any] = []

    def hook(ed: AttackEditor, params: types.ApplyWorkspaceEditParams, phase: Phase) -> None:
        written = writes(params, "Area of a circle")
        if phase == "after" and written and not cancels:
            type_at(ed, URI, "radius r.", " (metres)", after=True)
            cancels.append(send_command(ed.client, "agentls.cancel", {}))

    async with calc_session(model, hook=hook) as (client, editor):
        result = await send_run(client, ask())
        assert cancels, "the edit was never seen"
        await cancels[0]
        text = editor.text(URI)
        assert "(metres)" in text, text
        if "Area of a circle" in text:  # the agent's line stayed: say so, and why
            assert result["editedFiles"] == [URI], (result, text)
            assert "left as it was" not in result["summary"], (result, text)
            assert "could not be restored" in result["summary"], (result, text)
            # The user's edit is in the agent's line: undo cannot restore without losing
            # it, so it refuses, naming the line, and changes nothing.
            undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
            assert undone["status"] == "refused", undone
            line = 1 + text[: text.index("(metres)")].count("\n")
            assert f"line {line} " in undone["message"], (undone, text)
            assert editor.text(URI) == text


async def test_typing_above_while_the_restore_after_cancel_is_in_flight(
    model: ScriptedModelServer,
) -> None:
    """The restore edit meets a keystroke above the region (the editor refuses it as
    stale): the restore must be redone on the new text, the keystroke kept."""
    model.enqueue(text_reply(fenced(LONG_AREA), chunk="line", tokens_per_second=3))

    def hook(ed: AttackEditor, params: types.ApplyWorkspaceEditParams, phase: Phase) -> None:
        if phase == "before" and writes(params, "3.14") and not typed:
            typed.append(True)
            ed.type(URI, 0, 0, "import os\n")

    typed: list[bool] = []
    async with calc_session(model, hook=hook) as (client, editor):
        answer = send_run(client, ask())
        await until(lambda: "Area of a circle" in editor.text(URI), what="a streamed line")
        await command(client, "agentls.cancel", {})
        result = await answer
        await until(lambda: "3.14" in editor.text(URI), timeout=15, what="the restore")
        assert typed, "the restore edit was never seen"
        assert editor.text(URI) == "import os\n" + SOURCE
        assert result["status"] == "cancelled", result


async def test_a_line_typed_inside_while_the_undo_edit_is_in_flight_is_kept(
    model: ScriptedModelServer,
) -> None:
    model.enqueue(text_reply(fenced(LONG_AREA), chunk="line"))

    def hook(ed: AttackEditor, params: types.ApplyWorkspaceEditParams, phase: Phase) -> None:
        if phase == "before" and writes(params, "3.14") and not typed:
            typed.append(True)
            type_at(ed, URI, "    squared = r * r\n", "    print(r)\n")

    typed: list[bool] = []
    async with calc_session(model) as (client, editor):
        result = await run(client, ask())
        assert result["status"] == "done", result
        assert editor.text(URI) == new_text()
        editor.hook = hook
        undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        assert typed
        text = editor.text(URI)
        assert "    print(r)\n" in text, text
        assert undone["status"] == "undone", undone
        assert text.replace("    print(r)\n", "") == SOURCE, text
        line = 1 + text[: text.index("    print(r)")].count("\n")  # kept after the code
        assert f"(line {line})" in undone["message"], (undone, text)
        assert text.index("    print(r)") > text.index("return 3.14"), text


async def test_two_undos_at_once(model: ScriptedModelServer) -> None:
    model.enqueue(text_reply(fenced(LONG_AREA), chunk="line"))
    async with calc_session(model) as (client, editor):
        result = await run(client, ask())
        assert result["status"] == "done", result
        with one_write(client):
            first = send_command(client, "agentls.undo", {"taskId": result["taskId"]})
            second = send_command(client, "agentls.undo", {"taskId": result["taskId"]})
        answers = [await first, await second]
        assert editor.text(URI) == SOURCE
        statuses = sorted(a["status"] for a in answers)
        assert statuses in (["refused", "undone"], ["undone", "undone"]), answers
        again = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        assert again["status"] == "refused", again
        assert editor.text(URI) == SOURCE


async def test_undo_after_accept_is_refused_and_changes_nothing(model: ScriptedModelServer) -> None:
    model.enqueue(text_reply(fenced(LONG_AREA), chunk="line"))
    async with calc_session(model) as (client, editor):
        result = await run(client, ask())
        accepted = await command(client, "agentls.accept", {"taskId": result["taskId"]})
        assert accepted["status"] == "accepted"
        undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        assert undone["status"] == "refused", undone
        assert editor.text(URI) == new_text()


async def test_undo_after_the_user_deleted_the_whole_region_refuses(
    model: ScriptedModelServer,
) -> None:
    model.enqueue(text_reply(fenced(LONG_AREA), chunk="line"))
    async with calc_session(model) as (client, editor):
        result = await run(client, ask())
        start = editor.position_of(URI, "def area")
        end = editor.position_of(URI, "math.pi * squared\n", after=True)
        editor.type(URI, start.line, start.character, "", end=(end.line, end.character))
        before = editor.text(URI)
        undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        assert undone["status"] == "refused", undone
        assert editor.text(URI) == before


@pytest.mark.parametrize("where", ["start", "end"])
async def test_undo_keeps_a_line_typed_at_the_regions_exact_edge(
    model: ScriptedModelServer, where: str
) -> None:
    model.enqueue(text_reply(fenced(LONG_AREA), chunk="line"))
    async with calc_session(model) as (client, editor):
        result = await run(client, ask())
        if where == "start":
            type_at(editor, URI, "def area", "PI = math.pi\n")
        else:
            type_at(editor, URI, "math.pi * squared\n", "AREA = area\n", after=True)
        undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        assert undone["status"] == "undone", undone
        typed = "PI = math.pi\n" + OLD_AREA if where == "start" else OLD_AREA + "AREA = area\n"
        assert editor.text(URI) == SOURCE.replace(OLD_AREA, typed)


async def test_undo_after_the_document_was_closed_and_reopened(model: ScriptedModelServer) -> None:
    """A language-mode switch closes and reopens the document with the same text; then
    the user adds a line at the top and undoes the task. Undo must restore exactly or
    refuse: never write at offsets of the text before the reopen."""
    model.enqueue(text_reply(fenced(LONG_AREA), chunk="line"))
    async with calc_session(model) as (client, editor):
        result = await run(client, ask())
        text = editor.text(URI)
        editor.close(URI)
        editor.open(URI, text, version=7)
        editor.type(URI, 0, 0, "import os\nimport sys\nimport re\n")
        before = editor.text(URI)
        undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        after = editor.text(URI)
        if undone["status"] == "undone":
            assert after == "import os\nimport sys\nimport re\n" + SOURCE, after
        else:
            assert after == before, after
            assert "edited since" not in undone["message"], undone  # nobody edited it


async def test_a_second_cancel_while_the_restore_is_in_flight(model: ScriptedModelServer) -> None:
    """The impatient user presses Cancel twice: the second arrives while the restore
    after the first is in flight (and the editor refuses that edit as stale), then they
    type a line above. The restore must finish on the text as it is, or stop; never
    write at offsets that no longer follow the text."""
    model.enqueue(text_reply(fenced(LONG_AREA), chunk="line", tokens_per_second=3))
    seen: list[str] = []
    second: list[Any] = []

    def hook(ed: AttackEditor, params: types.ApplyWorkspaceEditParams, phase: Phase) -> None:
        if phase == "before" and writes(params, "3.14") and not second:
            seen.append(ed.text(URI))
            second.append(send_command(ed.client, "agentls.cancel", {}))

    def refuse_once(op: Any) -> Any:
        if second and len(editor.refused) == 0:
            return "error"
        return None

    async with calc_session(model, hook=hook, refuse=refuse_once) as (client, editor):
        answer = send_run(client, ask())
        await until(lambda: "Area of a circle" in editor.text(URI), what="a streamed line")
        await command(client, "agentls.cancel", {})
        result = await answer
        assert second, "the restore edit was never seen"
        await second[0]
        editor.type(URI, 0, 0, "import os\nimport sys\n")
        restored = "import os\nimport sys\n" + SOURCE
        try:
            await until(lambda: editor.text(URI) == restored, timeout=6, what="the restore")
        except AssertionError:  # not restored: the answer must say so, undo must work
            assert result["editedFiles"] == [URI], (result, editor.text(URI))
            undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
            assert undone["status"] == "undone", undone
            assert editor.text(URI) == restored
        else:  # restored: the answer says nothing stays
            assert result["editedFiles"] == [], result
            assert "left as it was" in result["summary"], result
        assert result["status"] == "cancelled", result


@pytest.mark.parametrize("moment", ["after-edit-1", "before-edit-2"])
async def test_close_mid_stream_then_reopen_and_type_above_then_undo(
    model: ScriptedModelServer, moment: str
) -> None:
    """The user closes the document just as the second streamed edit is sent (the task
    fails), opens it again with the text it had (an editor that restores the unsaved
    buffer), types a line above and undoes. Undo must restore exactly, or refuse without
    blaming an edit nobody made; and every edit names a version the editor reported."""
    model.enqueue(text_reply(fenced(LONG_AREA), chunk="line", tokens_per_second=3))
    left: list[str] = []

    def hook(ed: AttackEditor, params: types.ApplyWorkspaceEditParams, phase: Phase) -> None:
        first = moment == "after-edit-1" and phase == "after" and len(ed.edits_seen) == 1
        second = moment == "before-edit-2" and phase == "before" and len(ed.edits_seen) == 2
        if first or second:
            left.append(ed.text(URI))
            ed.close(URI)  # the edit then finds no document (and no file on disk)

    async with calc_session(model, hook=hook) as (client, editor):
        result = await send_run(client, ask())
        assert left, "the document was never closed"
        assert result["status"] == "failed", result
        assert result["editedFiles"] == [URI], result
        editor.open(URI, left[0], version=9)
        editor.type(URI, 0, 0, "import os\n")
        undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        if undone["status"] == "undone":
            assert editor.text(URI) == "import os\n" + SOURCE, (undone, editor.text(URI))
        else:
            assert editor.text(URI) == "import os\n" + left[0]
            assert "edited since" not in undone["message"], undone  # nobody edited it
        assert not editor.unseen_versions


async def test_typing_above_while_the_undo_edit_is_in_flight(model: ScriptedModelServer) -> None:
    """The undo edit meets a keystroke above the region: it is computed again on the new
    text; the keystroke stays; every edit names a version the editor reported."""
    model.enqueue(text_reply(fenced(LONG_AREA), chunk="line"))
    typed: list[bool] = []

    def hook(ed: AttackEditor, params: types.ApplyWorkspaceEditParams, phase: Phase) -> None:
        if phase == "before" and not typed:  # armed once the task is done: the undo edit
            typed.append(True)
            ed.type(URI, 0, 0, "import os\r\n")

    async with calc_session(model) as (client, editor):
        result = await run(client, ask())
        assert editor.text(URI) == new_text()
        editor.hook = hook
        undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        assert typed
        assert undone["status"] == "undone", undone
        assert editor.text(URI) == "import os\r\n" + SOURCE
        assert not editor.unseen_versions
