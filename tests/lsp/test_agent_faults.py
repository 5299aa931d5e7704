"""Faults of the full agent (``agentls.run`` without a range) end to end: the model
(status errors, timeouts, a cut stream, malformed or unknown calls, replies past the
output limit), the editor (edits refused or answered applied=false, a document closed
mid-task, the client gone) and the tools (a hanging command, huge output, binary,
non-UTF-8 and 50 MB files). Each one ends the task with a clear message, leaves a
workspace the task's undo can restore, and the server serves the next request."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from tests.support.lsp_session import command, lsp_session, model_options, run
from tests.support.model_server import (
    ScriptedModelServer,
    Step,
    error_reply,
    hang_reply,
    text_reply,
    tool_call_reply,
)

TEXT = "def slugify(value):\n    return value.lower()\n"
HELPER = "def helper():\n    return 1\n"


def project(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "app").mkdir(parents=True)
    (root / "app/text.py").write_text(TEXT)
    (root / "app/helper.py").write_text(HELPER)
    return root


def settings(model: ScriptedModelServer, approval: str = "auto-edit", **more: Any) -> Any:
    return {**model_options(model.base_url, **more), "agent": {"approval": approval}}


def env_for(tmp_path: Path) -> dict[str, str]:
    return {"AGENTLS_CACHE_DIR": str(tmp_path / "cache")}


def tool_results(model: ScriptedModelServer, request: int) -> list[str]:
    return [m["content"] for m in model.requests[request]["messages"] if m["role"] == "tool"]


def shown(client: Any, kind: types.MessageType = types.MessageType.Error) -> list[str]:
    return [m.message for m in client.messages if m.type == kind]


EDIT_OPEN = (
    "edit_file",
    {"path": "app/text.py", "old_string": "value.lower()", "new_string": "value.strip().lower()"},
)
EDIT_CLOSED = (
    "edit_file",
    {"path": "app/helper.py", "old_string": "return 1", "new_string": "return 2"},
)
CREATE = ("write_file", {"path": "app/new.py", "content": "NEW = 1\n"})
FINISH = tool_call_reply([("finish", {"summary": "all done"})])


async def still_serving(client: Any, model: ScriptedModelServer) -> None:
    """The server answers the next task."""
    model.clear()
    model.enqueue(tool_call_reply([("finish", {"summary": "next task"})]))
    result = await run(client, {"instruction": "the next task"})
    assert result["status"] == "done" and result["summary"] == "next task", result


# -- the model ----------------------------------------------------------------------------


async def test_rate_limited_then_answered_the_task_goes_on(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = project(tmp_path)
    model.enqueue(
        tool_call_reply([EDIT_CLOSED]),
        error_reply(429, "slow down", retry_after_ms=20),
        error_reply(503, "overloaded", retry_after_ms=20),
        FINISH,
    )
    async with lsp_session(settings(model), root_uri=root.as_uri(), env=env_for(tmp_path)) as (
        client,
        editor,
    ):
        result = await run(client, {"instruction": "bump helper"})
        assert result["status"] == "done" and result["summary"] == "all done", result
        assert "return 2" in editor.text((root / "app/helper.py").as_uri())
    assert len(model.requests) == 4  # a turn, 429 and 503 (two retries: model.maxRetries), a turn


@pytest.mark.parametrize(
    ("fault", "options", "words"),
    [
        (error_reply(500, "boom", times=100, retry_after_ms=10), {}, ["500", "after 2 retries"]),
        (error_reply(429, "slow down", times=100, retry_after_ms=10), {}, ["429", "rate limit"]),
        (
            text_reply("I will now " + "think " * 200, tokens_per_second=2000, cut_after_chunks=50),
            {},
            ["cut off midway"],
        ),
        (hang_reply(), {"timeout": 0.5, "maxRetries": 0}, ["did not answer within 0.5 s"]),
    ],
    ids=["500-forever", "429-forever", "stream-cut", "timeout"],
)
async def test_a_model_failure_after_edits_keeps_them_and_their_undo(
    model: ScriptedModelServer,
    tmp_path: Path,
    fault: Step,
    options: dict[str, Any],
    words: list[str],
) -> None:
    root = project(tmp_path)
    text_uri = (root / "app/text.py").as_uri()
    helper_uri = (root / "app/helper.py").as_uri()
    model.enqueue(tool_call_reply([EDIT_OPEN, EDIT_CLOSED, CREATE]), fault)
    async with lsp_session(
        settings(model, **options), root_uri=root.as_uri(), env=env_for(tmp_path)
    ) as (client, editor):
        editor.open(text_uri, TEXT)
        result = await run(client, {"instruction": "strip first", "uri": text_uri})
        assert result["status"] == "failed", result
        for word in words:
            assert word in result["summary"], result["summary"]
        assert "\n" not in result["summary"]
        await asyncio.sleep(0.05)
        assert any(result["summary"] in m for m in shown(client)), client.messages
        # The edits made before the failure are kept, and listed.
        assert "value.strip().lower()" in editor.text(text_uri)
        assert "return 2" in editor.text(helper_uri)
        assert (root / "app/new.py").exists()
        assert len(result["editedFiles"]) == 3
        # One undo restores all three.
        undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        assert undone["status"] == "undone", undone
        assert editor.text(text_uri) == TEXT and editor.text(helper_uri) == HELPER
        assert not (root / "app/new.py").exists()
        status = await command(client, "agentls.status")
        assert status["running"] == []
        await still_serving(client, model)


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        (error_reply(401, "bad key"), ["401", "OPENAI_API_KEY"]),
        (error_reply(404, "no such model", code="model_not_found"), ["404", "scripted-model"]),
    ],
    ids=["401", "404"],
)
async def test_a_rejected_key_or_unknown_model_fails_at_once_with_what_to_check(
    model: ScriptedModelServer, tmp_path: Path, fault: Step, words: list[str]
) -> None:
    root = project(tmp_path)
    model.enqueue(fault)
    async with lsp_session(settings(model), root_uri=root.as_uri(), env=env_for(tmp_path)) as (
        client,
        editor,
    ):
        result = await run(client, {"instruction": "anything"})
        assert result["status"] == "failed" and result["editedFiles"] == []
        for word in words:
            assert word in result["summary"], result["summary"]
        assert len(model.requests) == 1  # not retried
        assert not editor.log and not editor.resource_log
        await asyncio.sleep(0.05)
        assert any(result["summary"] in m for m in shown(client))
        await still_serving(client, model)


async def test_malformed_arguments_and_an_unknown_tool_go_back_to_the_model(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = project(tmp_path)
    model.enqueue(
        tool_call_reply(
            [("edit_file", '{"path": "app/helper.py", "old_str'), ("rm_rf", {"path": "/"})]
        ),
        tool_call_reply([EDIT_CLOSED]),
        FINISH,
    )
    async with lsp_session(settings(model), root_uri=root.as_uri(), env=env_for(tmp_path)) as (
        client,
        editor,
    ):
        result = await run(client, {"instruction": "bump helper"})
        assert result["status"] == "done", result
        malformed, unknown = tool_results(model, 1)
        assert "arguments of edit_file are not valid JSON" in malformed
        assert "no tool named 'rm_rf'" in unknown and "edit_file" in unknown
        assert "return 2" in editor.text((root / "app/helper.py").as_uri())


async def test_the_same_malformed_call_three_times_stops_the_task(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = project(tmp_path)
    bad = tool_call_reply([("write_file", '{"path": "app/x.py", "content": ')])
    model.enqueue(bad, bad, bad)
    async with lsp_session(settings(model), root_uri=root.as_uri(), env=env_for(tmp_path)) as (
        client,
        editor,
    ):
        result = await run(client, {"instruction": "write x"})
        assert result["status"] == "failed"
        assert "repeated the same failing call (write_file) 3 times" in result["summary"]
        assert "not valid JSON" in result["summary"]
        assert not editor.resource_log and not (root / "app/x.py").exists()
        await still_serving(client, model)


async def test_a_reply_past_the_output_limit_is_not_run_and_the_model_is_told(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """The scripted server ignores max_tokens, like a misconfigured local server: the
    client stops reading at the limit (a 2 MB write_file is never run), the model is
    told to make smaller steps, and the task goes on."""
    root = project(tmp_path)
    huge = ("write_file", {"path": "app/huge.py", "content": "x = 1\n" * 350_000})
    model.enqueue(tool_call_reply([huge], fragments=200), tool_call_reply([EDIT_CLOSED]), FINISH)
    async with lsp_session(
        settings(model, maxOutputTokens=1000), root_uri=root.as_uri(), env=env_for(tmp_path)
    ) as (client, editor):
        result = await run(client, {"instruction": "write a huge file"})
        assert result["status"] == "done", result
        assert tool_results(model, 1) == []  # the cut call was never run
        told = model.requests[1]["messages"][-1]
        assert told["role"] == "user", told
        assert "cut off at the output limit" in told["content"]
        assert "model.maxOutputTokens" in told["content"]
        # The huge arguments are not sent back to the model.
        assert len(json.dumps(model.requests[1])) < 50_000
        assert not (root / "app/huge.py").exists()
        assert [type(op).__name__ for op in editor.resource_log] == []
        assert "return 2" in editor.text((root / "app/helper.py").as_uri())


async def test_replies_cut_at_the_output_limit_twice_stop_the_task(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = project(tmp_path)
    rambling = "All right. " * 5000
    model.enqueue(
        text_reply(rambling, finish_reason="length"), text_reply(rambling, finish_reason="length")
    )
    async with lsp_session(settings(model), root_uri=root.as_uri(), env=env_for(tmp_path)) as (
        client,
        _,
    ):
        result = await run(client, {"instruction": "explain everything"})
        assert result["status"] == "failed"
        assert "cut off at the output limit 2 times" in result["summary"]
        assert len(result["summary"]) < 500
        await still_serving(client, model)


async def test_a_plain_answer_too_long_to_show_is_cut(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = project(tmp_path)
    model.enqueue(text_reply("word " * 12_000))
    async with lsp_session(settings(model), root_uri=root.as_uri(), env=env_for(tmp_path)) as (
        client,
        _,
    ):
        result = await run(client, {"instruction": "ramble", "mode": "ask"})
        assert result["status"] == "done"
        assert len(result["summary"]) < 10_000 and "characters cut" in result["summary"]


# -- the editor ---------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["error", "false"])
@pytest.mark.parametrize("what", ["open-document", "closed-file", "create", "delete"])
async def test_an_edit_the_editor_refuses_changes_nothing_and_the_model_is_told(
    model: ScriptedModelServer, tmp_path: Path, how: str, what: str
) -> None:
    root = project(tmp_path)
    text_uri, helper_uri = (root / "app/text.py").as_uri(), (root / "app/helper.py").as_uri()
    call, target = {
        "open-document": (EDIT_OPEN, types.TextDocumentEdit),
        "closed-file": (EDIT_CLOSED, types.TextDocumentEdit),
        "create": (CREATE, types.CreateFile),
        "delete": (("delete_file", {"path": "app/helper.py"}), types.DeleteFile),
    }[what]

    def refuse(op: Any) -> Any:
        return how if isinstance(op, target) and not editor.refused else None

    model.enqueue(tool_call_reply([call]), FINISH)
    async with lsp_session(
        settings(model), root_uri=root.as_uri(), env=env_for(tmp_path), refuse=refuse
    ) as (client, editor):
        editor.open(text_uri, TEXT)
        result = await run(client, {"instruction": "change it", "uri": text_uri})
        assert result["status"] == "done", result
        assert editor.refused
        [told] = tool_results(model, 1)
        assert told.startswith("error: app/") and "refused" in told, told
        assert "not changed" in told or "not deleted" in told or "refused the edit" in told
        assert result["editedFiles"] == []
        assert editor.text(text_uri) == TEXT
        assert (root / "app/helper.py").read_text() == HELPER
        if helper_uri in editor.docs:
            assert editor.text(helper_uri) == HELPER
        assert not (root / "app/new.py").exists()
        await still_serving(client, model)


async def test_a_new_file_created_but_its_text_refused_is_undone(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """An editor without transactional edits creates the file, then refuses its text:
    the empty file is part of the task, and its undo removes it."""
    root = project(tmp_path)
    new_uri = (root / "app/new.py").as_uri()

    def refuse(op: Any) -> Any:
        if isinstance(op, types.TextDocumentEdit) and op.text_document.uri == new_uri:
            return "error"
        return None

    model.enqueue(tool_call_reply([CREATE]), FINISH)
    async with lsp_session(
        settings(model), root_uri=root.as_uri(), env=env_for(tmp_path), refuse=refuse
    ) as (client, _):
        result = await run(client, {"instruction": "create new.py"})
        assert result["status"] == "done", result
        [told] = tool_results(model, 1)
        assert "refused" in told and "created, empty" in told, told
        assert (root / "app/new.py").read_text() == ""
        assert result["editedFiles"] == [new_uri]
        undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        assert undone["status"] == "undone", undone
        assert not (root / "app/new.py").exists()


async def test_an_undo_the_editor_refuses_part_of_can_be_finished_later(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = project(tmp_path)
    text_uri, helper_uri = (root / "app/text.py").as_uri(), (root / "app/helper.py").as_uri()
    model.enqueue(tool_call_reply([EDIT_OPEN, EDIT_CLOSED, CREATE]), FINISH)
    refusing = {"on": False}

    def refuse(op: Any) -> Any:  # the second operation of the undo, once
        if refusing["on"] and isinstance(op, types.TextDocumentEdit):
            if op.text_document.uri == text_uri:
                refusing["on"] = False
                return "false"
        return None

    async with lsp_session(
        settings(model), root_uri=root.as_uri(), env=env_for(tmp_path), refuse=refuse
    ) as (client, editor):
        editor.open(text_uri, TEXT)
        result = await run(client, {"instruction": "three changes", "uri": text_uri})
        assert result["status"] == "done"
        refusing["on"] = True
        first = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        assert first["status"] == "refused", first
        assert "refused" in first["message"] and "undo again" in first["message"], first
        # The files the editor restored are restored; the rest waits for another undo.
        assert editor.text(helper_uri) == HELPER and not (root / "app/new.py").exists()
        assert "strip()" in editor.text(text_uri)
        second = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        assert second["status"] == "undone", second
        assert editor.text(text_uri) == TEXT and editor.text(helper_uri) == HELPER
        assert not (root / "app/new.py").exists()


async def test_a_document_closed_mid_task_is_edited_from_the_disk(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = project(tmp_path)
    text_uri = (root / "app/text.py").as_uri()
    unsaved = TEXT + "# unsaved\n"

    def close_then_edit(body: dict[str, Any]) -> Step:
        editor.close(text_uri)  # the user closes it, discarding the unsaved line
        return tool_call_reply([EDIT_OPEN])

    model.enqueue(
        tool_call_reply([("read_file", {"path": "app/text.py"})]), close_then_edit, FINISH
    )
    async with lsp_session(settings(model), root_uri=root.as_uri(), env=env_for(tmp_path)) as (
        client,
        editor,
    ):
        editor.open(text_uri, unsaved)
        result = await run(client, {"instruction": "strip first", "uri": text_uri})
        assert result["status"] == "done", result
        assert "# unsaved" in tool_results(model, 1)[0]
        # Edited from the disk's text (the buffer is gone): loaded again by the edit.
        assert editor.text(text_uri) == TEXT.replace("value.lower()", "value.strip().lower()")
        assert [e.version for e in editor.log if e.uri == text_uri] == [None]
        undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        assert undone["status"] == "undone", undone
        assert editor.text(text_uri) == TEXT


# -- the tools ----------------------------------------------------------------------------


async def test_a_hanging_command_times_out_and_huge_output_is_cut(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = project(tmp_path)
    model.enqueue(
        tool_call_reply([("run_command", {"command": "sleep 30; touch finished", "timeout": 1})]),
        tool_call_reply([("run_command", {"command": "head -c 30000000 /dev/zero | tr '\\0' x"})]),
        FINISH,
    )
    async with lsp_session(
        settings(model, approval="full-auto"), root_uri=root.as_uri(), env=env_for(tmp_path)
    ) as (client, _):
        result = await run(client, {"instruction": "run things"})
        assert result["status"] == "done", result
        [hung] = tool_results(model, 1)
        assert "timed out" in hung or "timeout" in hung, hung
        huge = tool_results(model, 2)[-1]
        assert len(huge) < 40_000 and "xxxx" in huge, huge[:300]
        assert len(json.dumps(model.requests)) < 500_000
        assert not (root / "finished").exists()
        await still_serving(client, model)


async def test_binary_non_utf8_and_50_mb_files_give_clear_results(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = project(tmp_path)
    (root / "app/blob.bin").write_bytes(b"\x00needle\x01\x02" * 100)
    (root / "app/latin.txt").write_bytes("café needle\n".encode("latin-1"))
    with (root / "app/big.log").open("wb") as f:
        line = b"an ordinary log line without the word\n"
        for _ in range(50_000_000 // (len(line) * 10_000) + 1):
            f.write(line * 10_000)
        f.write(b"needle at the end\n")
    model.enqueue(
        tool_call_reply(
            [
                ("read_file", {"path": "app/blob.bin"}),
                ("read_file", {"path": "app/latin.txt"}),
                ("read_file", {"path": "app/big.log"}),
                ("search", {"pattern": "needle"}),
            ]
        ),
        tool_call_reply(
            [("edit_file", {"path": "app/latin.txt", "old_string": "caf", "new_string": "CAF"})]
        ),
        FINISH,
    )
    async with lsp_session(settings(model), root_uri=root.as_uri(), env=env_for(tmp_path)) as (
        client,
        editor,
    ):
        result = await run(client, {"instruction": "look at the files"})
        assert result["status"] == "done", result
        blob, latin, big, found = tool_results(model, 1)
        assert blob.startswith("error: app/blob.bin: a binary file")
        assert "caf\ufffd needle" in latin and "not UTF-8" in latin
        assert big.startswith("error: app/big.log") and "too big to read whole" in big
        assert "app/latin.txt:1:" in found
        assert "not searched: app/big.log" in found and "not searched: app/blob.bin" in found
        edit = tool_results(model, 2)[-1]
        assert edit.startswith("error: app/latin.txt: not UTF-8"), edit
        assert (root / "app/latin.txt").read_bytes() == "café needle\n".encode("latin-1")
        assert not editor.log and result["editedFiles"] == []
        assert len(json.dumps(model.requests)) < 200_000


# -- the client gone ----------------------------------------------------------------------
