"""Attacks on the focused rewrite with awkward text and a hostile model: lone CR and
CRLF files, characters outside the BMP (UTF-16 positions), an empty file, a file
without a final newline, typing at the region's exact edges, two tasks at once on one
document, and replies that are empty, cut, repeated or huge."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.attack_tools import fenced, send_run, type_at, until
from tests.support.edit_attacks import NEW_AREA, OLD_AREA, SOURCE, URI, calc_session
from tests.support.lsp_session import command, model_options, run, wait_for_edits
from tests.support.model_server import ScriptedModelServer, Step, text_reply


def at(line: int, character: int = 0) -> dict[str, int]:
    return {"line": line, "character": character}


def scope(line: int, character: int) -> dict[str, Any]:
    return {"start": at(line, character), "end": at(line, character)}


async def test_a_scope_request_in_a_lone_cr_file_rewrites_the_function_only(
    model: ScriptedModelServer,
) -> None:
    """An old Mac file (lines end with a lone CR): "rewrite this function" must not
    take the whole file as the function."""
    source = SOURCE.replace("\n", "\r")
    model.enqueue(text_reply(fenced(NEW_AREA), chunk="line"))
    async with calc_session(model, source) as (client, editor):
        result = await run(client, {"instruction": "doc", "uri": URI, "range": scope(4, 4)})
        text = editor.text(URI)
        assert text.startswith("import math\r\r\r"), repr(text)
        assert text.endswith("\r\r\rdef other():\r    return 1\r"), repr(text)
        assert result["status"] == "done", result


async def test_a_selection_in_a_lone_cr_file_keeps_its_line_break(
    model: ScriptedModelServer,
) -> None:
    """Lines 4-5 selected whole (LSP counts a lone CR as a line end): the new lines end
    with the file's line break, and the blank lines after the region stay."""
    source = SOURCE.replace("\n", "\r")
    model.enqueue(text_reply(fenced(NEW_AREA), chunk="line"))
    async with calc_session(model, source) as (client, editor):
        region = {"start": at(3), "end": at(5)}
        result = await run(client, {"instruction": "doc", "uri": URI, "range": region})
        assert result["status"] == "done", result
        expected = SOURCE.replace(OLD_AREA, NEW_AREA).replace("\n", "\r")
        assert editor.text(URI) == expected, repr(editor.text(URI))


async def test_crlf_file_typing_crlf_above_while_streaming(model: ScriptedModelServer) -> None:
    source = SOURCE.replace("\n", "\r\n")
    model.enqueue(text_reply(fenced(NEW_AREA), chunk="line", tokens_per_second=6))
    async with calc_session(model, source) as (client, editor):
        answer = send_run(client, {"instruction": "doc", "uri": URI, "range": scope(4, 4)})
        await wait_for_edits(editor, 1)
        editor.type(URI, 1, 0, "import os\r\nimport sys\r\n")
        result = await answer
        expected = SOURCE.replace(OLD_AREA, NEW_AREA).replace("import math\n\n", "import math\n")
        expected = expected.replace("import math\n", "import math\nimport os\nimport sys\n\n")
        assert result["status"] == "done", result
        assert editor.text(URI) == expected.replace("\n", "\r\n")


async def test_non_bmp_text_before_a_mid_line_selection_typed_while_streaming(
    model: ScriptedModelServer,
) -> None:
    """A selection in the middle of a line after emoji (UTF-16: two units each); the user
    adds more emoji before it while the reply streams."""
    source = 'label = "🙂🙂"; value = 3.14  # 🙃\n'
    model.enqueue(text_reply(fenced("math.pi\n"), chunk="char", tokens_per_second=40))
    async with calc_session(model, source) as (client, editor):
        start = editor.position_of(URI, "3.14")
        end = editor.position_of(URI, "3.14", after=True)
        answer = send_run(
            client, {"instruction": "pi", "uri": URI, "range": {"start": start, "end": end}}
        )
        await until(lambda: len(model.chunk_log) > 3, what="the reply to start")
        type_at(editor, URI, '";', "🎉", after=False)
        result = await answer
        text = editor.text(URI)
        assert "🎉" in text and text.count("\n") == 1, repr(text)
        if result["status"] == "done":
            assert text == 'label = "🙂🙂🎉"; value = math.pi  # 🙃\n', repr(text)
        else:
            assert text.replace("math.pi", "3.14") == 'label = "🙂🙂🎉"; value = 3.14  # 🙃\n'


async def test_an_empty_file(model: ScriptedModelServer) -> None:
    model.enqueue(text_reply(fenced("x = 1\n"), chunk="line"))
    async with calc_session(model, "") as (client, editor):
        result = await run(client, {"instruction": "x", "uri": URI, "range": scope(0, 0)})
        assert result["status"] == "done", result
        assert editor.text(URI).rstrip("\n") == "x = 1"
        undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        assert undone["status"] == "undone", undone
        assert editor.text(URI) == ""


async def test_no_final_newline_and_typing_at_the_end_while_streaming(
    model: ScriptedModelServer,
) -> None:
    source = SOURCE.rstrip("\n")
    reply = "def other():\n    # one\n    value = 1\n    return value\n"
    model.enqueue(text_reply(fenced(reply), chunk="line", tokens_per_second=6))
    async with calc_session(model, source) as (client, editor):
        answer = send_run(client, {"instruction": "x", "uri": URI, "range": scope(8, 4)})
        await wait_for_edits(editor, 1)
        lines = editor.text(URI).split("\n")
        editor.type(URI, len(lines) - 1, len(lines[-1]), "\n\nprint(other())")
        result = await answer
        text = editor.text(URI)
        assert text.startswith(source[: source.index("def other")]), repr(text)
        assert text.endswith("\n\nprint(other())"), repr(text)
        if result["status"] == "cancelled":
            undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
            assert undone["status"] == "undone", undone
            assert editor.text(URI) == source + "\n\nprint(other())"
        else:
            assert result["status"] == "done", result
            assert text == source.replace("def other():\n    return 1", reply.rstrip("\n")) + (
                "\n\nprint(other())"
            )


async def test_a_line_typed_right_above_a_function_at_the_start_of_the_file(
    model: ScriptedModelServer,
) -> None:
    """The region starts at offset 0; the user types a line at that very point (above
    the function) while it streams. That line is outside the function."""
    source = SOURCE[SOURCE.index("def area") :]
    model.enqueue(text_reply(fenced(NEW_AREA), chunk="line", tokens_per_second=6))
    async with calc_session(model, source) as (client, editor):
        answer = send_run(client, {"instruction": "doc", "uri": URI, "range": scope(1, 4)})
        await wait_for_edits(editor, 1)
        editor.type(URI, 0, 0, "import math\n")
        result = await answer
        assert editor.text(URI).startswith("import math\ndef area(r):\n")
        assert result["status"] == "done", (result, editor.text(URI))
        assert editor.text(URI) == "import math\n" + source.replace(OLD_AREA, NEW_AREA)


def by_instruction(replies: dict[str, str], tps: float) -> Any:
    def step(body: dict[str, Any]) -> Step:
        prompt = body["messages"][-1]["content"]
        for key, reply in replies.items():
            if f"Instruction: {key}" in prompt:
                return text_reply(fenced(reply), chunk="line", tokens_per_second=tps)
        raise AssertionError("no reply for this prompt")

    return step


async def test_two_tasks_on_adjacent_functions_at_once(model: ScriptedModelServer) -> None:
    """Two rewrites of two functions with no blank line between them, streaming at
    the same time: each must end in its own function."""
    source = "def area(r):\n    return 3.14 * r * r\ndef other():\n    return 1\n"
    new_other = "def other():\n    # the answer\n    return 42\n"
    replies = {"doc area": NEW_AREA, "doc other": new_other}
    model.enqueue(by_instruction(replies, 8), by_instruction(replies, 8))
    async with calc_session(model, source) as (client, editor):
        first = send_run(client, {"instruction": "doc area", "uri": URI, "range": scope(1, 4)})
        second = send_run(client, {"instruction": "doc other", "uri": URI, "range": scope(3, 4)})
        results = [await first, await second]
        assert editor.text(URI) == NEW_AREA + new_other, editor.text(URI)
        assert [r["status"] for r in results] == ["done", "done"], results


async def test_two_tasks_on_the_same_function_at_once(model: ScriptedModelServer) -> None:
    """Both rewrite area(): whatever happens, the document holds one clean version and
    every "done" or "edited" claim is true."""
    other_area = "def area(r):\n    # TODO\n    return r * r * math.pi\n"
    replies = {"doc one": NEW_AREA, "doc two": other_area}
    model.enqueue(by_instruction(replies, 8), by_instruction(replies, 8))
    async with calc_session(model) as (client, editor):
        first = send_run(client, {"instruction": "doc one", "uri": URI, "range": scope(4, 4)})
        second = send_run(client, {"instruction": "doc two", "uri": URI, "range": scope(4, 4)})
        results = [await first, await second]
        text = editor.text(URI)
        clean = [SOURCE.replace(OLD_AREA, new) for new in (NEW_AREA, other_area)]
        assert text in clean, text
        winner = clean.index(text)
        for i, result in enumerate(results):
            if result["status"] == "done" and i != winner:
                pytest.fail(f"task {i} says done but the text is the other's: {results}")


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param("", id="empty"),
        pytest.param("```python\n```\n", id="empty-fence"),
        pytest.param("   \n\n  \n", id="blank-lines"),
    ],
)
async def test_a_reply_without_code_changes_nothing(model: ScriptedModelServer, reply: str) -> None:
    model.enqueue(text_reply(reply, chunk="line"))
    async with calc_session(model) as (client, editor):
        result = await run(client, {"instruction": "x", "uri": URI, "range": scope(4, 4)})
        assert result["status"] == "failed", result
        assert result["editedFiles"] == []
        assert editor.text(URI) == SOURCE


async def test_a_reply_cut_mid_line_restores_the_original(model: ScriptedModelServer) -> None:
    reply = fenced(NEW_AREA)
    model.enqueue(text_reply(reply, chunk="char", cut_after_chunks=reply.index("math.pi") + 3))
    options = model_options(model.base_url, maxRetries=0)
    async with calc_session(model, options=options) as (client, editor):
        result = await run(client, {"instruction": "x", "uri": URI, "range": scope(4, 4)})
        assert result["status"] == "failed", result
        assert editor.text(URI) == SOURCE
        assert result["editedFiles"] == [], result
        assert "kept" not in result["summary"], result


async def test_a_reply_with_crlf_and_tabs_on_an_lf_file(model: ScriptedModelServer) -> None:
    reply = 'def area(r):\r\n    """Doc."""\r\n    return math.pi * r * r\r\n'
    model.enqueue(text_reply("```python\r\n" + reply + "```\r\n", chunk="token"))
    async with calc_session(model) as (client, editor):
        result = await run(client, {"instruction": "x", "uri": URI, "range": scope(4, 4)})
        assert result["status"] == "done", result
        assert editor.text(URI) == SOURCE.replace(OLD_AREA, reply.replace("\r\n", "\n"))


async def test_a_reply_of_one_line_repeated_thousands_of_times_does_not_stall(
    model: ScriptedModelServer,
) -> None:
    """A broken model repeats one line thousands of times over a region of repeated
    lines (the line diffs meet their worst case): another request is answered while it
    streams, and the final text is the reply (no timing is asserted: a hang fails by the
    test timeout)."""
    region = "def area(r):\n" + "    r = r + 1\n" * 300 + "    return r\n"
    source = SOURCE.replace(OLD_AREA, region)
    reply = "def area(r):\n" + "    r = r + 1\n" * 3500
    model.enqueue(text_reply(fenced(reply), chunk="line"))
    async with calc_session(model, source) as (client, editor):
        answer = send_run(client, {"instruction": "x", "uri": URI, "range": scope(4, 4)})
        await wait_for_edits(editor, 1)
        await command(client, "agentls.status", {})
        result = await answer
        assert result["status"] == "done", result
        assert editor.text(URI) == source.replace(region, reply), "the final text"


async def test_a_tab_indented_method_gets_the_reply_in_tabs(model: ScriptedModelServer) -> None:
    source = "class Shape:\n\tdef area(self, r):\n\t\treturn 3.14 * r * r\n"
    reply = "def area(self, r):\n    return math.pi * r * r\n"
    model.enqueue(text_reply(fenced(reply), chunk="line"))
    async with calc_session(model, source) as (client, editor):
        region = {"start": at(1), "end": at(3)}
        result = await run(client, {"instruction": "pi", "uri": URI, "range": region})
        assert result["status"] == "done", result
        assert (
            editor.text(URI) == "class Shape:\n\tdef area(self, r):\n\t\treturn math.pi * r * r\n"
        )


async def test_keep_on_cancel_of_a_mid_line_selection_keeps_the_line_whole(
    model: ScriptedModelServer,
) -> None:
    """edits.onCancel = keep, a selection inside a line ("3.14"), cancelled after the
    first streamed line: what follows the selection on that line stays on that line."""
    reply = "```python\nmath.pi\n```\n"
    model.enqueue(text_reply(reply, chunk="line", tokens_per_second=2))
    options = {**model_options(model.base_url), "edits": {"onCancel": "keep"}}
    async with calc_session(model, options=options) as (client, editor):
        start = editor.position_of(URI, "3.14")
        end = editor.position_of(URI, "3.14", after=True)
        answer = send_run(
            client, {"instruction": "pi", "uri": URI, "range": {"start": start, "end": end}}
        )
        await until(lambda: "math.pi" in editor.text(URI), what="the streamed line")
        await command(client, "agentls.cancel", {})
        await answer
        text = editor.text(URI)
        assert text in (SOURCE, SOURCE.replace("3.14", "math.pi")), repr(text)


async def test_a_reply_that_repeats_the_users_typed_line(model: ScriptedModelServer) -> None:
    """The user types a line inside the selection right after the command; a model
    that saw it echoes it back. The line must be in the document exactly once."""
    mine = "    r = abs(r)\n"

    def echo(body: dict[str, Any]) -> Step:
        prompt = body["messages"][-1]["content"]
        code = NEW_AREA
        if "r = abs(r)" in prompt.split("The region to rewrite")[1]:
            code = NEW_AREA.replace("    return", mine + "    return")
        return text_reply(fenced(code), chunk="line", first_byte_delay=0.2)

    model.enqueue(echo)
    async with calc_session(model) as (client, editor):
        region = {"start": at(3), "end": at(5)}
        answer = send_run(client, {"instruction": "doc", "uri": URI, "range": region})
        editor.type(URI, 4, 0, mine)
        result = await answer
        text = editor.text(URI)
        assert text.count("r = abs(r)") == 1, text
        assert text.endswith("\n\ndef other():\n    return 1\n"), text
        if result["status"] == "done":
            assert text == SOURCE.replace(
                OLD_AREA, NEW_AREA.replace("    return", mine + "    return")
            )
        else:
            assert text == SOURCE.replace("    return 3.14", mine + "    return 3.14"), result
