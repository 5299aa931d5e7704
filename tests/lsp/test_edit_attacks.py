"""Attacks on the focused rewrite: the user types at the worst moments, over the real
server process (pytest-lsp), against the scripted model server with real SSE.

Each test states the user's expectation: their typing is never lost or moved into
other text, text outside the task's region never changes, and the result tells the
truth. Each attack here failed once and was fixed (the note of the change names them).
"""

from __future__ import annotations

from lsprotocol import types

from tests.support.attack_tools import fenced, one_write, send_run, type_at, until
from tests.support.edit_attacks import NEW_AREA, OLD_AREA, SOURCE, URI, calc_session
from tests.support.lsp_session import wait_for_edits
from tests.support.model_server import ScriptedModelServer, text_reply


def whole_lines(first: int, last: int) -> dict[str, types.Position]:
    """The range of lines ``first``..``last`` (0-based), line ends included."""
    return {
        "start": types.Position(line=first, character=0),
        "end": types.Position(line=last + 1, character=0),
    }


async def test_typing_above_sent_with_the_command_in_one_read(model: ScriptedModelServer) -> None:
    """The user runs the command on lines 4-5 and types an import at the top at once:
    the server reads both messages together. The range names the text the command was
    sent with, so the rewrite must still replace area(), not the lines above it."""
    model.enqueue(text_reply(fenced(NEW_AREA), chunk="line"))
    async with calc_session(model) as (client, editor):
        with one_write(client):
            answer = send_run(
                client, {"instruction": "docstring", "uri": URI, "range": whole_lines(3, 4)}
            )
            editor.type(URI, 0, 0, "import os\n")
        result = await answer
        assert result["status"] == "done", result
        expected = "import os\n" + SOURCE.replace(OLD_AREA, NEW_AREA)
        assert editor.text(URI) == expected, editor.text(URI)


async def test_typing_at_the_cursor_of_a_scope_request_is_not_rewritten(
    model: ScriptedModelServer,
) -> None:
    """An empty range asks for the enclosing function. The user keeps typing at that
    very point right after the command (a new line in the body): their line must stay;
    the request must not turn into "rewrite what the user just typed"."""
    model.enqueue(text_reply(fenced(NEW_AREA), chunk="line"))
    async with calc_session(model) as (client, editor):
        at = editor.position_of(URI, "return 3.14")
        answer = send_run(
            client, {"instruction": "docstring", "uri": URI, "range": {"start": at, "end": at}}
        )
        editor.type(URI, at.line, at.character, "r = abs(r)\n    ")
        result = await answer
        text = editor.text(URI)
        assert "r = abs(r)" in text, text
        # One definition of area, not a second one pasted over the user's line.
        assert text.count("def area") == 1, text
        assert text.endswith("\n\ndef other():\n    return 1\n"), text
        assert result["status"] in ("done", "cancelled"), result


async def test_a_paste_over_the_line_above_a_selection_stays_the_users(
    model: ScriptedModelServer,
) -> None:
    """The user selects line 1 with its line break (a triple click) and pastes two
    imports over it while the selection below is being planned. That line is outside
    the selection: the pasted imports must survive the rewrite."""
    model.enqueue(text_reply(fenced(NEW_AREA), chunk="line", first_byte_delay=0.3))
    async with calc_session(model) as (client, editor):
        answer = send_run(
            client, {"instruction": "docstring", "uri": URI, "range": whole_lines(3, 4)}
        )
        # Lines 2-3 are blank: replace line 3 (the blank line right above area) and its
        # line break: the change ends exactly where the selection starts.
        editor.type(URI, 2, 0, "import os\nimport sys\n", end=(3, 0))
        result = await answer
        expected = "import math\n\nimport os\nimport sys\n" + NEW_AREA + "\n\ndef other():\n"
        assert editor.text(URI) == expected + "    return 1\n", editor.text(URI)
        assert result["status"] in ("done", "cancelled"), result


async def test_deleting_the_selection_before_planning_does_not_widen_the_task(
    model: ScriptedModelServer,
) -> None:
    """The user selects the body line, runs the command, then deletes that line. The
    task was about that line only: it must not rewrite the whole enclosing function
    (the reply, meant for one line, would replace the def line with it)."""
    model.enqueue(text_reply(fenced("    return math.pi * r * r\n"), chunk="line"))
    async with calc_session(model) as (client, editor):
        answer = send_run(
            client, {"instruction": "use math.pi", "uri": URI, "range": whole_lines(4, 4)}
        )
        editor.type(URI, 4, 0, "", end=(5, 0))
        result = await answer
        text = editor.text(URI)
        assert "def area(r):\n" in text, text
        assert text.endswith("\n\ndef other():\n    return 1\n"), text
        assert result["status"] in ("done", "cancelled", "failed"), result


async def test_typing_between_streamed_lines_outside_the_region(model: ScriptedModelServer) -> None:
    """Control: typing above the region while lines stream only moves the region."""
    model.enqueue(text_reply(fenced(NEW_AREA), chunk="line", tokens_per_second=8))
    async with calc_session(model) as (client, editor):
        answer = send_run(
            client, {"instruction": "docstring", "uri": URI, "range": whole_lines(3, 4)}
        )
        await wait_for_edits(editor, 1)
        type_at(editor, URI, "import math\n", "import os\n")
        await until(lambda: answer.done(), what="the run's answer")
        result = await answer
        assert result["status"] == "done", result
        expected = "import os\n" + SOURCE.replace(OLD_AREA, NEW_AREA)
        assert editor.text(URI) == expected, editor.text(URI)
