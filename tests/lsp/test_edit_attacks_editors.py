"""Edit attacks against editors that behave like Neovim 0.7 (skips a stale edit but
answers applied, didChange debounced 150 ms, versions jump) and eglot (refuses stale
edits, didChange half a second later, none while the command request is open)."""

from __future__ import annotations

from typing import Any

from tests.support.attack_tools import fenced, send_run, type_at, until
from tests.support.edit_attacks import LONG_AREA, OLD_AREA, REGION, SOURCE, URI, calc_session
from tests.support.lsp_session import command, wait_for_edits
from tests.support.model_server import ScriptedModelServer, text_reply

NVIM: dict[str, Any] = {"stale": "skip", "change_delay": 0.15, "version_step": 3}


async def test_nvim_typing_above_and_below_between_streamed_lines(
    model: ScriptedModelServer,
) -> None:
    model.enqueue(text_reply(fenced(LONG_AREA), chunk="line", tokens_per_second=10))
    async with calc_session(model, **NVIM) as (client, editor):
        answer = send_run(client, {"instruction": "doc", "uri": URI, "range": REGION})
        await wait_for_edits(editor, 1)
        editor.type(URI, 0, 0, "import os\n")
        await wait_for_edits(editor, 2)
        type_at(editor, URI, "    return 1\n", "\nprint(area(2))\n", after=True)
        editor.type(URI, 1, 0, "import sys\n")
        result = await answer
        await until(lambda: not editor._pending, what="the debounced didChange")
        expected = "import os\nimport sys\n" + SOURCE.replace(OLD_AREA, LONG_AREA)
        assert editor.text(URI) == expected + "\nprint(area(2))\n"
        assert result["status"] == "done", result


async def test_nvim_typing_inside_between_streamed_lines_then_undo(
    model: ScriptedModelServer,
) -> None:
    """A line typed among the agent's lines while the next edit is on its way (Neovim
    skips that edit as stale and still answers applied): the task stops, the line is
    kept, and undo puts the original back with the line."""
    model.enqueue(text_reply(fenced(LONG_AREA), chunk="line", tokens_per_second=10))
    async with calc_session(model, **NVIM) as (client, editor):
        answer = send_run(client, {"instruction": "doc", "uri": URI, "range": REGION})
        await until(lambda: "Area of a circle" in editor.text(URI), what="a streamed line")
        type_at(editor, URI, '    """Area', "    # mine\n")
        result = await answer
        await until(lambda: not editor._pending, what="the debounced didChange")
        text = editor.text(URI)
        assert "    # mine\n" in text
        assert text.endswith("\n\ndef other():\n    return 1\n")
        if result["status"] == "done":
            return  # the line was typed after the last edit went out
        assert result["status"] == "cancelled" and result["editedFiles"] == [URI], result
        undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        await until(lambda: not editor._pending, what="the debounced didChange")
        assert undone["status"] in ("undone", "pending"), undone
        await until(lambda: "3.14" in editor.text(URI), what="the undo")
        assert editor.text(URI).replace("    # mine\n", "") == SOURCE
        assert "    # mine\n" in editor.text(URI)


async def test_eglot_holding_didchange_while_the_command_is_open_and_typing(
    model: ScriptedModelServer,
) -> None:
    """eglot reports nothing while the command request is open: the server answers
    early, the task goes on; the user types above while the held changes come in."""
    model.enqueue(text_reply(fenced(LONG_AREA), chunk="line", tokens_per_second=10))
    eglot: dict[str, Any] = {"stale": "strict", "change_delay": 0.5, "hold": True}
    async with calc_session(model, **eglot) as (client, editor):
        result = await send_run(client, {"instruction": "doc", "uri": URI, "range": REGION})
        assert result["status"] == "running", result
        editor.type(URI, 0, 0, "import os\n")
        editor.release()
        expected = "import os\n" + SOURCE.replace(OLD_AREA, LONG_AREA)
        await until(lambda: editor.text(URI) == expected, timeout=20, what="the rewrite")
        status = await command(client, "agentls.status", {})
        await until(lambda: not editor._pending, what="the last didChange")
        assert editor.text(URI) == expected, status
