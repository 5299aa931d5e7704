"""Round-2 attacks on issue 11 by an engineer who had not read the other attack tests:
the agent's undo by position (edits/placed.py), the reading of reported changes
(edits/landed.py), odd line endings and UTF-16 positions, undo twice."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.support.attack_tools import (
    AttackEditor,
    Phase,
    applied,
    fenced,
    send_command,
    send_run,
)
from tests.support.edit_attacks import agent_session, attack_session, finish
from tests.support.fake_editor import FakeEditor
from tests.support.lsp_session import command, model_options, run
from tests.support.model_server import ScriptedModelServer, text_reply, tool_call_reply


def workspace(tmp_path: Path, text: str) -> tuple[Path, str]:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "m.py").write_bytes(text.encode())
    return root, (root / "m.py").as_uri()


Call = tuple[str, dict[str, Any] | str]


def edit(old: str, new: str) -> Call:
    return ("edit_file", {"path": "m.py", "old_string": old, "new_string": new})


async def agent_then_undo(
    model: ScriptedModelServer,
    tmp_path: Path,
    text: str,
    calls: list[list[Call]],
    between: Any = None,
    undos: int = 1,
) -> tuple[dict[str, Any], list[dict[str, Any]], str, str]:
    """Run the agent with ``calls`` on an open buffer holding ``text``; ``between(editor,
    uri)`` is the user's typing after the task; then undo ``undos`` times. Returns
    (result, undo answers, text after the task and typing, text after undo)."""
    root, uri = workspace(tmp_path, text)
    model.enqueue(*[tool_call_reply(c) for c in calls], finish("ok"))
    async with agent_session(model, tmp_path, root) as (client, editor):
        editor.open(uri, text)
        result = await run(client, {"instruction": "do it", "uri": uri})
        if between is not None:
            between(editor, uri)
        before = editor.text(uri)
        answers = []
        for _ in range(undos):
            answers.append(await command(client, "agentls.undo", {"taskId": result["taskId"]}))
        return result, answers, before, editor.text(uri)


TEXT = "import os\n\n\ndef f(a, b):\n    return a - b\n\n\ndef g():\n    return 2\n"


async def test_agent_edits_its_own_line_twice_user_types_between_then_undo(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """Two steps on the same line (the task edits its own text): undo goes by merging texts.
    The user's line typed above the function after the task must survive; the original
    function must come back."""
    calls = [
        [edit("    return a - b\n", "    c = a - b\n    return c\n")],
        [edit("    c = a - b\n", "    c = b - a  # flipped\n")],
    ]

    def typing(editor: FakeEditor, uri: str) -> None:
        editor.type(uri, 3, 0, "# user line\n")

    result, answers, before, after = await agent_then_undo(model, tmp_path, TEXT, calls, typing)
    assert result["status"] == "done", result
    assert "c = b - a  # flipped" in before
    assert answers[0]["status"] == "undone", answers
    assert after == TEXT.replace("def f", "# user line\ndef f")


@pytest.mark.parametrize("line", [2, 1], ids=["right_after_it", "right_before_it"])
async def test_user_types_the_same_text_the_agent_wrote(
    model: ScriptedModelServer, tmp_path: Path, line: int
) -> None:
    """The agent inserts a line; the user types an identical line right after it (or
    right before it). Undo by position must take out exactly one copy (the agent's) and
    keep the user's."""
    calls = [[edit("import os\n", "import os\nimport sys\n")]]

    def typing(editor: FakeEditor, uri: str) -> None:
        editor.type(uri, line, 0, "import sys\n")

    _result, answers, before, after = await agent_then_undo(model, tmp_path, TEXT, calls, typing)
    assert before.startswith("import os\nimport sys\nimport sys\n")
    assert answers[0]["status"] == "undone", answers
    assert after == TEXT.replace("import os\n", "import os\nimport sys\n"), after


async def test_undo_twice_the_second_does_not_claim_to_undo_again(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    calls = [[edit("    return 2\n", "    return 3\n")]]
    _result, answers, _before, after = await agent_then_undo(
        model, tmp_path, TEXT, calls, None, undos=2
    )
    assert answers[0]["status"] == "undone", answers
    assert after == TEXT
    assert answers[1]["status"] != "undone", answers


async def test_non_bmp_before_the_agents_text_on_the_same_line(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """UTF-16 positions: emoji before the edit on the same line, the user types more
    emoji after the agent's text on that line, then undo."""
    text = 'x = "😀😀"  # old\ny = 1\n'
    calls = [[edit("# old", "# new 🎉")]]

    def typing(editor: FakeEditor, uri: str) -> None:
        at = editor.position_of(uri, "🎉", after=True)
        editor.type(uri, at.line, at.character, " 👍")
        editor.type(uri, 0, 0, "🙂")

    _result, answers, before, after = await agent_then_undo(model, tmp_path, text, calls, typing)
    assert before == '🙂x = "😀😀"  # new 🎉 👍\ny = 1\n', before
    assert answers[0]["status"] in ("undone", "refused"), answers
    if answers[0]["status"] == "undone":
        assert after == '🙂x = "😀😀"  # old 👍\ny = 1\n', after
    else:
        assert after == before


async def test_crlf_file_agent_edit_and_undo_with_typing(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    text = TEXT.replace("\n", "\r\n")
    calls = [[edit("    return 2", "    return 2 + 1")]]

    def typing(editor: FakeEditor, uri: str) -> None:
        editor.type(uri, 0, 0, "# top\r\n")

    _result, answers, before, after = await agent_then_undo(model, tmp_path, text, calls, typing)
    assert "return 2 + 1" in before
    assert answers[0]["status"] == "undone", answers
    assert after == "# top\r\n" + text, repr(after)


async def test_lone_cr_file_agent_edit_and_undo(model: ScriptedModelServer, tmp_path: Path) -> None:
    text = TEXT.replace("\n", "\r")
    calls = [[edit("def g():\r", "def g():\r    # note\r")]]

    def typing(editor: FakeEditor, uri: str) -> None:
        editor.type(uri, 0, 0, "# top\r")

    _result, answers, before, after = await agent_then_undo(model, tmp_path, text, calls, typing)
    assert "# note" in before
    assert answers[0]["status"] == "undone", answers
    assert after == "# top\r" + text, repr(after)


# -- the rewrite (agentls.run with a range) ------------------------------------------

RURI = "file:///tmp/agentls-test/r.py"
RSOURCE = (
    "import os\n\n\ndef f(a, b):\n    # agent: add\n    return a - b\n\n\ndef g():\n    return 2\n"
)
OLD_F = "def f(a, b):\n    # agent: add\n    return a - b\n"
NEW_F = "def f(a, b):\n    s = a + b\n    t = s * 2\n    return t\n"


def region_args(editor: FakeEditor) -> dict[str, Any]:
    at = editor.position_of(RURI, "# agent:")
    return {"instruction": "add", "uri": RURI, "range": {"start": at, "end": at}}


async def test_typing_at_the_region_end_edge_mid_stream_stays_outside(
    model: ScriptedModelServer,
) -> None:
    """After the second edit of the stream, the user types a line at the first character
    of the line right after the function (the region's end edge)."""
    model.enqueue(text_reply(fenced(NEW_F), chunk="line", tokens_per_second=20))
    typed: list[int] = []

    def hook(editor: AttackEditor, params: Any, phase: Phase) -> None:
        if phase == "after" and applied(editor) == 2 and not typed:
            typed.append(1)
            at = editor.position_of(RURI, "\n\n\ndef g")
            editor.type(RURI, at.line + 1, 0, "# edge\n")

    async with attack_session(model_options(model.base_url), hook) as (client, editor):
        editor.open(RURI, RSOURCE)
        result = await run(client, region_args(editor))
        text = editor.text(RURI)
        assert typed
        assert "# edge\n" in text
        assert result["status"] == "done", (result, text)
        assert text == RSOURCE.replace(OLD_F, NEW_F + "# edge\n"), text


async def test_delete_across_the_region_end_mid_stream_then_undo(
    model: ScriptedModelServer,
) -> None:
    """The user selects from the end of the function's last line into the blank lines
    below and deletes it (a join across the region's end edge) while it streams."""
    model.enqueue(text_reply(fenced(NEW_F), chunk="line", tokens_per_second=20))
    typed: list[str] = []

    def hook(editor: AttackEditor, params: Any, phase: Phase) -> None:
        if phase == "after" and applied(editor) == 2 and not typed:
            at = editor.position_of(RURI, "\n\n\ndef g")
            typed.append(editor.text(RURI))
            editor.type(RURI, at.line, at.character, "", end=(at.line + 2, 0))

    async with attack_session(model_options(model.base_url), hook) as (client, editor):
        editor.open(RURI, RSOURCE)
        result = await run(client, region_args(editor))
        text = editor.text(RURI)
        assert typed
        assert text.endswith("\ndef g():\n    return 2\n") and "\n\n\ndef g" not in text
        undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        after = editor.text(RURI)
        if undone["status"] == "undone":
            assert "return a - b" in after and "s = a + b" not in after, (result, undone, after)
            assert "t = s * 2" not in after
        else:
            assert after == text, (undone, after)
            assert undone.get("message"), undone


NEW_G = "def g():\n    # two\n    return 3\n"


async def test_two_rewrites_at_once_on_adjacent_functions_with_typing_between(
    model: ScriptedModelServer,
) -> None:
    """Two tasks stream into f and g of the same file at once; the user types a line
    between them while both stream. Both functions must be whole, the user's line kept."""
    model.enqueue(
        text_reply(fenced(NEW_F), chunk="line", tokens_per_second=25),
        text_reply(fenced(NEW_G), chunk="line", tokens_per_second=25),
    )
    typed: list[int] = []

    second: list[Any] = []
    client_box: list[Any] = []

    def hook(editor: AttackEditor, params: Any, phase: Phase) -> None:
        if phase == "after" and applied(editor) == 1 and not second:
            # the second task starts once the first has its reply (the model answers FIFO)
            at_g = editor.position_of(RURI, "    return 2")
            args = {"instruction": "two", "uri": RURI, "range": {"start": at_g, "end": at_g}}
            second.append(send_run(client_box[0], args))
        if phase == "after" and applied(editor) == 4 and not typed:
            typed.append(1)
            at = editor.position_of(RURI, "def g")
            editor.type(RURI, at.line - 1, 0, "# between\n")

    async with attack_session(model_options(model.base_url), hook) as (client, editor):
        editor.open(RURI, RSOURCE)
        client_box.append(client)
        r1 = await asyncio.wait_for(run(client, region_args(editor)), 15)
        assert second
        r2 = await asyncio.wait_for(second[0], 15)
        text = editor.text(RURI)
        assert typed
        assert (r1["status"], r2["status"]) == ("done", "done"), (r1, r2, text)
        assert text == "import os\n\n\n" + NEW_F + "\n# between\n\n" + NEW_G, text
        assert not editor.unseen_versions


async def test_close_and_reopen_with_a_new_top_line_mid_stream(
    model: ScriptedModelServer,
) -> None:
    """The user closes the buffer mid-stream and reopens it with a line added at the top
    (another tool changed the file). Nothing after that may land at the old offsets."""
    model.enqueue(text_reply(fenced(NEW_F), chunk="line", tokens_per_second=20))
    done: list[str] = []

    def hook(editor: AttackEditor, params: Any, phase: Phase) -> None:
        if phase == "after" and applied(editor) == 2 and not done:
            text = editor.text(RURI)
            done.append(text)
            editor.close(RURI)
            editor.open(RURI, "# top\n" + text, version=7)

    async with attack_session(model_options(model.base_url), hook) as (client, editor):
        editor.open(RURI, RSOURCE)
        result = await asyncio.wait_for(run(client, region_args(editor)), 15)
        text = editor.text(RURI)
        assert done
        assert text.startswith("# top\nimport os\n\n\ndef f(a, b):\n"), text
        assert text.endswith("\n\n\ndef g():\n    return 2\n"), text
        body = text[len("# top\nimport os\n\n\n") : -len("\n\n\ndef g():\n    return 2\n") + 1]
        assert body in (NEW_F, done[0][len("import os\n\n\n") : done[0].index("\n\n\ndef g") + 1])
        assert result["status"] in ("done", "cancelled", "failed"), result
        if result["status"] == "done":
            assert body == NEW_F, (result, text)


async def test_cancel_then_type_in_the_region_as_the_restore_arrives_then_cancel_again(
    model: ScriptedModelServer,
) -> None:
    """Cancel after two streamed edits; as the restore edit arrives (before it is applied)
    the user types a comment line inside the function and presses Cancel again."""
    model.enqueue(text_reply(fenced(NEW_F), chunk="line", tokens_per_second=10))
    state: dict[str, Any] = {}
    client_box: list[Any] = []

    def hook(editor: AttackEditor, params: Any, phase: Phase) -> None:
        if phase == "after" and applied(editor) == 2 and "cancel" not in state:
            state["cancel"] = send_command(client_box[0], "agentls.cancel", {})
        elif phase == "before" and "cancel" in state and "typed" not in state:
            state["typed"] = editor.text(RURI)
            at = editor.position_of(RURI, "def f(a, b):\n", after=True)
            editor.type(RURI, at.line, 0, "    # mine\n")
            state["again"] = send_command(client_box[0], "agentls.cancel", {})

    async with attack_session(model_options(model.base_url), hook) as (client, editor):
        client_box.append(client)
        editor.open(RURI, RSOURCE)
        result = await asyncio.wait_for(run(client, region_args(editor)), 15)
        await asyncio.sleep(0.4)
        text = editor.text(RURI)
        assert "typed" in state, (result, text)
        assert "    # mine\n" in text, text
        assert "s = a + b" not in text or "undo" in result["summary"].lower(), (result, text)
        plain = text.replace("    # mine\n", "")
        if "s = a + b" not in plain:
            assert plain == RSOURCE, (result, text)
        assert result["status"] == "cancelled", result


# -- a file the user opens as the agent's unversioned edit arrives ---------------------


async def opened_race(
    model: ScriptedModelServer, tmp_path: Path, text: str, old: str, new: str, user: Any
) -> tuple[dict[str, Any], str, dict[str, Any], str]:
    root, uri = workspace(tmp_path, text)
    model.enqueue(tool_call_reply([edit(old, new)]), finish("ok"))

    landed: list[bool] = []

    def hook(editor: AttackEditor, params: Any, phase: Phase) -> None:
        if phase == "before" and uri not in editor.docs:
            editor.open(uri, text)
            user(editor, uri, "before")
        elif phase == "after" and not landed:  # right after the agent's edit lands, once
            landed.append(True)
            user(editor, uri, "after")

    async with agent_session(model, tmp_path, root, hook) as (client, editor):
        result = await asyncio.wait_for(run(client, {"instruction": "do it"}), 15)
        await asyncio.sleep(0.3)
        after_task = editor.text(uri)
        undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        await asyncio.sleep(0.3)
        return result, after_task, undone, editor.text(uri)


async def test_opened_race_user_types_a_line_at_the_top_then_more_right_after(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    def user(editor: AttackEditor, uri: str, phase: Phase) -> None:
        if phase == "before":
            editor.type(uri, 0, 0, "# one\n")
        else:
            editor.type(uri, 0, 0, "# two\n")

    result, after_task, undone, after_undo = await opened_race(
        model, tmp_path, TEXT, "    return 2\n", "    return 3\n", user
    )
    expected = "# two\n# one\n" + TEXT.replace("    return 2\n", "    return 3\n")
    assert after_task == expected, (result, after_task)
    assert result["editedFiles"], result
    assert undone["status"] == "undone", undone
    assert after_undo == "# two\n# one\n" + TEXT, after_undo


async def test_opened_race_user_types_one_line_at_the_top(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    def user(editor: AttackEditor, uri: str, phase: Phase) -> None:
        if phase == "before":
            editor.type(uri, 0, 0, "# one\n")

    result, after_task, undone, after_undo = await opened_race(
        model, tmp_path, TEXT, "    return 2\n", "    return 3\n", user
    )
    expected = "# one\n" + TEXT.replace("    return 2\n", "    return 3\n")
    assert after_task == expected, (result, after_task)
    assert undone["status"] == "undone", undone
    assert after_undo == "# one\n" + TEXT, after_undo


async def test_opened_race_user_types_on_the_edited_line(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    def user(editor: AttackEditor, uri: str, phase: Phase) -> None:
        if phase == "before":
            editor.type(uri, 8, 0, "x = 0; ")

    result, after_task, undone, after_undo = await opened_race(
        model, tmp_path, TEXT, "    return 2\n", "    return 3\n", user
    )
    assert (
        after_task
        == "x = 0; ".join(
            (TEXT.replace("    return 2\n", "    return 3\n")[: TEXT.index("    return 2")], "")
        )
        + "    return 3\n"
    ), (result, after_task)
    assert result["editedFiles"], result
    assert undone["status"] == "undone", undone
    assert after_undo == TEXT.replace("    return 2", "x = 0;     return 2"), after_undo


async def test_typing_as_the_agents_undo_edit_arrives(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """The user types a line at the top exactly as the undo edit arrives (it is then
    stale: the editor refuses it); undo must recompute, keep the line, and say undone."""
    root, uri = workspace(tmp_path, TEXT)
    model.enqueue(
        tool_call_reply([edit("    return 2\n", "    return 2  # agent\n    x = 1\n")]),
        finish("ok"),
    )
    undoing: list[int] = []

    def hook(editor: AttackEditor, params: Any, phase: Phase) -> None:
        if phase == "before" and undoing and len(undoing) == 1:
            undoing.append(1)
            editor.type(uri, 0, 0, "# typed\n")

    async with agent_session(model, tmp_path, root, hook) as (client, editor):
        editor.open(uri, TEXT)
        result = await asyncio.wait_for(run(client, {"instruction": "do it", "uri": uri}), 15)
        assert result["status"] == "done", result
        undoing.append(1)
        undone = await asyncio.wait_for(
            command(client, "agentls.undo", {"taskId": result["taskId"]}), 15
        )
        assert len(undoing) == 2
        assert undone["status"] == "undone", undone
        assert editor.text(uri) == "# typed\n" + TEXT, editor.text(uri)
        assert not editor.unseen_versions


async def test_huge_file_long_lines_agent_edit_at_the_end_typing_at_the_top_then_undo(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """1,000 lines of 300 characters (non-BMP among them), the agent edits the last line,
    the user types at the top; undo takes out only the agent's change."""
    line = "x = '" + "😀a" * 145 + "'\n"
    text = line * 1000 + "last = 1\n"
    calls = [[edit("last = 1\n", "last = 2  # 🎉\n")]]

    def typing(editor: FakeEditor, uri: str) -> None:
        editor.type(uri, 0, 3, "🙂")

    result, answers, before, after = await agent_then_undo(model, tmp_path, text, calls, typing)
    assert result["status"] == "done", result
    assert before.endswith("last = 2  # 🎉\n")
    assert answers[0]["status"] == "undone", answers
    assert after == text[:3] + "🙂" + text[3:], after[:40]
