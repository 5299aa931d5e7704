"""Model faults over real HTTP: every failure is one clear message and an untouched document."""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.support.lsp_session import (
    command,
    lsp_session,
    model_options,
    run,
    wait_for_edits,
)
from tests.support.model_server import (
    ScriptedModelServer,
    error_reply,
    hang_reply,
    text_reply,
)

URI = "file:///tmp/agentls-test/m.py"
SOURCE = "def f(x):\n    return x\n\n\ndef g():\n    pass\n"
REPLY = "```python\ndef f(x):\n    # doubled\n    return 2 * x\n```\n"
SLOW_REPLY = "```python\ndef f(x):\n" + "".join(f"    y{i} = x\n" for i in range(200)) + "```\n"
EXPECTED = "def f(x):\n    # doubled\n    return 2 * x\n\n\ndef g():\n    pass\n"


def args(instruction: str = "double it") -> dict[str, object]:
    at = {"line": 1, "character": 4}
    return {"instruction": instruction, "uri": URI, "range": {"start": at, "end": at}}


def errors(client) -> list[str]:  # type: ignore[no-untyped-def]
    return [m.message for m in client.messages if m.type == types.MessageType.Error]


async def test_429_then_success(model: ScriptedModelServer) -> None:
    model.enqueue(error_reply(429, "slow down", retry_after_ms=20), text_reply(REPLY))
    async with lsp_session(model_options(model.base_url)) as (client, editor):
        editor.open(URI, SOURCE)
        result = await run(client, args())
        assert result["status"] == "done", result
        assert editor.text(URI) == EXPECTED
    assert len(model.requests) == 2


@pytest.mark.parametrize(
    ("step", "words"),
    [
        (error_reply(500, "boom", times=100, retry_after_ms=10), ["500", "after 2 retries"]),
        (error_reply(401, "bad key"), ["401", "OPENAI_API_KEY"]),
        (error_reply(404, "no such model", code="model_not_found"), ["404", "scripted-model"]),
    ],
    ids=["500-forever", "401", "404"],
)
async def test_status_errors_give_one_clear_line(
    model: ScriptedModelServer, step: object, words: list[str]
) -> None:
    model.enqueue(step)  # type: ignore[arg-type]
    async with lsp_session(model_options(model.base_url)) as (client, editor):
        editor.open(URI, SOURCE)
        result = await run(client, args())
        assert result["status"] == "failed"
        for word in words:
            assert word in result["summary"], result["summary"]
        assert "\n" not in result["summary"]
        assert editor.text(URI) == SOURCE
        assert not [e for e in editor.log if e.outcome == "applied"]
        await asyncio.sleep(0.05)
        assert any(result["summary"] in m for m in errors(client))


async def test_stream_cut_midway_restores_the_document(model: ScriptedModelServer) -> None:
    long_reply = (
        "```python\ndef f(x):\n"
        + "".join(f"    y{i} = x\n" for i in range(20))
        + "    return x\n```\n"
    )
    model.enqueue(text_reply(long_reply, tokens_per_second=300, cut_after_chunks=40))
    async with lsp_session(model_options(model.base_url)) as (client, editor):
        editor.open(URI, SOURCE)
        result = await run(client, args())
        assert result["status"] == "failed"
        assert "cut off" in result["summary"]
        assert [e for e in editor.log if e.outcome == "applied"], "lines had streamed in"
        assert editor.text(URI) == SOURCE


async def test_timeout_is_reported(model: ScriptedModelServer) -> None:
    model.enqueue(hang_reply())
    options = model_options(model.base_url, timeout=0.5, maxRetries=0)
    async with lsp_session(options) as (client, editor):
        editor.open(URI, SOURCE)
        result = await run(client, args())
        assert result["status"] == "failed"
        assert "did not answer within 0.5 s" in result["summary"]
        assert editor.text(URI) == SOURCE


async def test_no_model_configured_fails_with_how_to(model: ScriptedModelServer) -> None:
    async with lsp_session(None) as (client, editor):
        editor.open(URI, SOURCE)
        result = await run(client, args())
        assert result["status"] == "failed"
        assert "No model is configured" in result["summary"]
        assert "OPENAI_BASE_URL" in result["summary"] and "OPENAI_API_KEY" in result["summary"]
        status = await command(client, "agentls.status")
        assert status["running"] == []


async def test_cancel_stops_the_stream_promptly(model: ScriptedModelServer) -> None:
    model.enqueue(text_reply(SLOW_REPLY, tokens_per_second=100))
    async with lsp_session(model_options(model.base_url)) as (client, editor):
        editor.open(URI, SOURCE)
        running = asyncio.ensure_future(run(client, args()))
        await wait_for_edits(editor)
        status = await command(client, "agentls.status")
        [task] = status["running"]
        cancelled_at = asyncio.get_running_loop().time()
        assert (await command(client, "agentls.cancel", {"taskId": task["taskId"]})) == {
            "cancelled": [task["taskId"]]
        }
        result = await running
        assert asyncio.get_running_loop().time() - cancelled_at < 1.0
        assert result["status"] == "cancelled"
        assert editor.text(URI) == SOURCE
        sent = len(model.chunk_log)
        await asyncio.sleep(0.3)
        assert len(model.chunk_log) - sent <= 1, "the model stream was closed"


async def test_cancel_request_stops_the_task(model: ScriptedModelServer) -> None:
    model.enqueue(text_reply(SLOW_REPLY, tokens_per_second=100))
    async with lsp_session(model_options(model.base_url)) as (client, editor):
        editor.open(URI, SOURCE)
        request = types.ExecuteCommandParams(command="agentls.run", arguments=[args()])
        running = asyncio.wrap_future(
            client.protocol.send_request(types.WORKSPACE_EXECUTE_COMMAND, request, msg_id="run-1")
        )
        await wait_for_edits(editor)
        client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id="run-1"))
        with pytest.raises(JsonRpcException, match="cancel"):
            await running
        for _ in range(100):
            status = await command(client, "agentls.status")
            if not status["running"]:
                break
            await asyncio.sleep(0.02)
        assert status["running"] == []
        await asyncio.sleep(0.1)
        assert editor.text(URI) == SOURCE


async def test_shutdown_while_a_task_runs_is_clean(model: ScriptedModelServer) -> None:
    model.enqueue(text_reply(SLOW_REPLY, tokens_per_second=100))
    async with lsp_session(model_options(model.base_url)) as (client, editor):
        editor.open(URI, SOURCE)
        running = asyncio.ensure_future(run(client, args()))
        await wait_for_edits(editor)
        await client.shutdown_async(None)  # raises if the server's shutdown fails
        result = await running
        assert result["status"] == "cancelled"
        assert editor.text(URI) == SOURCE
        client.exit(None)
        client.capabilities = None  # the session is over: the fixture must not shut down again
