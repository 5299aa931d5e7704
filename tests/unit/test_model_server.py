"""Tests for the scripted OpenAI-compatible model server, driven by the real openai SDK."""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import openai
import pytest

# `tests` is importable only with the repository root on sys.path (python -m pytest,
# or `pythonpath = ["."]` in pytest's config); make plain `pytest` work as well.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.support.model_server import (  # noqa: E402
    ScriptedModelServer,
    Step,
    error_reply,
    hang_reply,
    split_text,
    text_reply,
    tool_call_reply,
)

MESSAGES: list[Any] = [{"role": "user", "content": "Say hello to the world, please."}]


ClientFactory = Callable[..., openai.AsyncOpenAI]


@pytest.fixture
async def server() -> AsyncIterator[ScriptedModelServer]:
    srv = ScriptedModelServer()
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


@pytest.fixture
async def client_for() -> AsyncIterator[ClientFactory]:
    """Build real AsyncOpenAI clients for a server; closed at teardown."""
    clients: list[openai.AsyncOpenAI] = []

    def make(srv: ScriptedModelServer, max_retries: int = 0, **kw: Any) -> openai.AsyncOpenAI:
        client = openai.AsyncOpenAI(
            base_url=srv.base_url, api_key="test", max_retries=max_retries, **kw
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


async def test_streamed_text_arrives_in_chunks_and_joins_exactly(
    server: ScriptedModelServer,
    client_for: ClientFactory,
) -> None:
    text = "Hello, world!\n  def f(x): return x*2  # done"
    server.enqueue(text_reply(text))
    client = client_for(server)
    stream = await client.chat.completions.create(model="gpt-test", messages=MESSAGES, stream=True)
    chunks = [c async for c in stream]
    contents = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert len(contents) > 5
    assert "".join(contents) == text
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.model == "gpt-test" and c.object == "chat.completion.chunk" for c in chunks)
    assert "".join(r.content for r in server.chunk_log) == text
    assert server.chunk_log[-1].raw == "[DONE]"


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("char", list("ab c")), ("line", ["one\n", "two\n", "three"])],
)
async def test_chunk_modes(
    server: ScriptedModelServer, client_for: ClientFactory, mode: str, expected: list[str]
) -> None:
    text = "".join(expected)
    server.enqueue(text_reply(text, chunk=mode))  # type: ignore[arg-type]
    stream = await client_for(server).chat.completions.create(
        model="m", messages=MESSAGES, stream=True
    )
    contents = [c.choices[0].delta.content async for c in stream if c.choices]
    assert [c for c in contents if c] == expected


async def test_usage_chunk_only_when_include_usage(
    server: ScriptedModelServer, client_for: ClientFactory
) -> None:
    text = "one two three"
    server.enqueue(text_reply(text), text_reply(text))
    client = client_for(server)
    stream = await client.chat.completions.create(
        model="m", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = [c async for c in stream]
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.completion_tokens == len(split_text(text))
    assert last.usage.prompt_tokens == len(split_text(MESSAGES[0]["content"]))
    assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens

    stream = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    chunks = [c async for c in stream]
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks)


async def test_tool_call_deltas_reassemble(
    server: ScriptedModelServer, client_for: ClientFactory
) -> None:
    args = {"path": "src/main.py", "line": 12}
    server.enqueue(
        tool_call_reply(
            [("read_file", args), ("broken", '{"a": ')], text="Let me look.", fragments=4
        )
    )
    stream = await client_for(server).chat.completions.create(
        model="m", messages=MESSAGES, stream=True
    )
    calls: dict[int, dict[str, str]] = {}
    text, finish, arg_deltas = "", None, 0
    async for chunk in stream:
        choice = chunk.choices[0]
        text += choice.delta.content or ""
        finish = choice.finish_reason or finish
        for tc in choice.delta.tool_calls or []:
            slot = calls.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
            if tc.id:
                slot["id"] = tc.id
            if tc.function and tc.function.name:
                slot["name"] += tc.function.name
            if tc.function and tc.function.arguments:
                slot["arguments"] += tc.function.arguments
                arg_deltas += 1
    assert text == "Let me look."
    assert finish == "tool_calls"
    assert [calls[i]["name"] for i in sorted(calls)] == ["read_file", "broken"]
    assert json.loads(calls[0]["arguments"]) == args
    assert calls[1]["arguments"] == '{"a": '
    assert calls[0]["id"].startswith("call_") and calls[0]["id"] != calls[1]["id"]
    assert arg_deltas >= 5  # 4 fragments + at least one for the short malformed call


async def test_non_streamed_text_and_tool_calls(
    server: ScriptedModelServer, client_for: ClientFactory
) -> None:
    server.enqueue(text_reply("plain answer"), tool_call_reply([("grep", {"q": "x"})]))
    client = client_for(server)
    first = await client.chat.completions.create(model="m1", messages=MESSAGES)
    assert first.object == "chat.completion"
    assert first.model == "m1"
    assert first.choices[0].message.content == "plain answer"
    assert first.choices[0].finish_reason == "stop"
    assert first.usage is not None and first.usage.completion_tokens == 3
    second = await client.chat.completions.create(model="m1", messages=MESSAGES)
    call = second.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert second.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "grep"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"q": "x"}  # type: ignore[union-attr]


async def test_429_with_retry_after_ms_then_success(
    server: ScriptedModelServer, client_for: ClientFactory
) -> None:
    server.enqueue(error_reply(429, "slow down", retry_after_ms=20), text_reply("ok"))
    started = time.perf_counter()
    reply = await client_for(server, max_retries=2).chat.completions.create(
        model="m", messages=MESSAGES
    )
    assert reply.choices[0].message.content == "ok"
    assert len(server.requests) == 2
    # retry-after-ms=20 replaces the SDK's >=0.375 s exponential backoff.
    assert time.perf_counter() - started < 0.35


async def test_500_forever_raises_internal_server_error(
    server: ScriptedModelServer, client_for: ClientFactory
) -> None:
    server.enqueue(error_reply(500, "boom", times=10_000, retry_after_ms=1))
    client = client_for(server, max_retries=2)
    with pytest.raises(openai.InternalServerError) as info:
        await client.chat.completions.create(model="m", messages=MESSAGES)
    assert info.value.status_code == 500
    assert "boom" in str(info.value)
    assert len(server.requests) == 3
    with pytest.raises(openai.InternalServerError):  # still at the head of the queue
        await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)


async def test_error_times_then_next_step(
    server: ScriptedModelServer, client_for: ClientFactory
) -> None:
    server.enqueue(error_reply(503, times=2), text_reply("after"))
    client = client_for(server)
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            await client.chat.completions.create(model="m", messages=MESSAGES)
    reply = await client.chat.completions.create(model="m", messages=MESSAGES)
    assert reply.choices[0].message.content == "after"


@pytest.mark.parametrize(
    ("status", "exc"),
    [
        (401, openai.AuthenticationError),
        (404, openai.NotFoundError),
        (400, openai.BadRequestError),
    ],
)
async def test_error_status_maps_to_sdk_exception(
    server: ScriptedModelServer,
    client_for: ClientFactory,
    status: int,
    exc: type[openai.APIStatusError],
) -> None:
    server.enqueue(error_reply(status, "scripted failure", code="some_code"))
    with pytest.raises(exc) as info:
        await client_for(server).chat.completions.create(model="m", messages=MESSAGES)
    assert info.value.status_code == status
    assert info.value.code == "some_code"
    assert info.value.message.endswith("scripted failure")


async def test_empty_queue_answers_500_unless_default(
    server: ScriptedModelServer, client_for: ClientFactory
) -> None:
    with pytest.raises(openai.InternalServerError, match="no scripted reply left"):
        await client_for(server).chat.completions.create(model="m", messages=MESSAGES)

    other = ScriptedModelServer(default=text_reply("fallback"))
    await other.start()
    try:
        client = client_for(other)
        for _ in range(2):
            reply = await client.chat.completions.create(model="m", messages=MESSAGES)
            assert reply.choices[0].message.content == "fallback"
    finally:
        await other.stop()


async def test_cut_stream_raises_api_connection_error(
    server: ScriptedModelServer, client_for: ClientFactory
) -> None:
    """A cut stream: the chunks before the cut arrive, then iteration raises.

    The server closes the socket mid chunked body, so httpx2 raises a
    RemoteProtocolError (incomplete chunked read), which the SDK's ``AsyncStream``
    wraps as ``openai.APIConnectionError``. No chunk carries a finish_reason.
    """
    server.enqueue(text_reply("a b c d e f g h", cut_after_chunks=3))
    stream = await client_for(server).chat.completions.create(
        model="m", messages=MESSAGES, stream=True
    )
    received: list[str] = []
    finishes: list[str | None] = []
    with pytest.raises(openai.APIConnectionError):
        async for chunk in stream:
            received.append(chunk.choices[0].delta.content or "")
            finishes.append(chunk.choices[0].finish_reason)
    assert "".join(received) == "a b"  # 3 pseudo-tokens: "a", " ", "b"
    assert finishes == [None] * len(finishes)
    assert all(r.raw != "[DONE]" for r in server.chunk_log)


async def test_server_still_serves_after_cut(
    server: ScriptedModelServer, client_for: ClientFactory
) -> None:
    server.enqueue(text_reply("x y z", cut_after_chunks=0), text_reply("fine"))
    client = client_for(server)
    stream = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    with pytest.raises(openai.APIConnectionError):
        async for _ in stream:
            pass
    reply = await client.chat.completions.create(model="m", messages=MESSAGES)
    assert reply.choices[0].message.content == "fine"


async def test_cut_non_streamed_request_drops_connection(
    server: ScriptedModelServer, client_for: ClientFactory
) -> None:
    server.enqueue(text_reply("never sent", cut_after_chunks=1))
    with pytest.raises(openai.APIConnectionError):
        await client_for(server).chat.completions.create(model="m", messages=MESSAGES)
    assert len(server.requests) == 1


async def test_client_abandoning_stream_stops_it(
    server: ScriptedModelServer, client_for: ClientFactory
) -> None:
    server.enqueue(text_reply("a b c d e f g h i j k l", tokens_per_second=20), text_reply("ok"))
    client = client_for(server)
    stream = await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    async for chunk in stream:
        if chunk.choices[0].delta.content:
            break
    await stream.close()
    await asyncio.sleep(0.3)  # the server would have sent ~6 more chunks by now
    sent = [r for r in server.chunk_log if r.request_index == 0]
    assert len(sent) < 6
    reply = await client.chat.completions.create(model="m", messages=MESSAGES)
    assert reply.choices[0].message.content == "ok"


async def test_tokens_per_second_spaces_chunks(
    server: ScriptedModelServer, client_for: ClientFactory
) -> None:
    server.enqueue(text_reply("one two three four five six", tokens_per_second=25))
    stream = await client_for(server).chat.completions.create(
        model="m", messages=MESSAGES, stream=True
    )
    arrivals = [
        time.perf_counter() async for c in stream if c.choices and c.choices[0].delta.content
    ]
    assert len(arrivals) == 11
    sent = [r.time for r in server.chunk_log if r.content]
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert min(gaps) >= 0.03  # 1/25 s = 0.04 s, loosely
    assert arrivals[-1] - arrivals[0] >= 0.3  # 10 gaps of 0.04 s; streamed, not buffered


async def test_first_byte_delay(server: ScriptedModelServer, client_for: ClientFactory) -> None:
    server.enqueue(text_reply("hi", first_byte_delay=0.2))
    started = time.perf_counter()
    await client_for(server).chat.completions.create(model="m", messages=MESSAGES)
    assert time.perf_counter() - started >= 0.18


async def test_hang_times_out_and_stop_releases_it(
    server: ScriptedModelServer, client_for: ClientFactory
) -> None:
    server.enqueue(hang_reply(), text_reply("next"))
    client = client_for(server, timeout=0.3)
    with pytest.raises(openai.APITimeoutError):
        await client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
    reply = await client.chat.completions.create(model="m", messages=MESSAGES)
    assert reply.choices[0].message.content == "next"

    arrived = asyncio.Event()

    def hang_and_signal(body: dict[str, Any]) -> Step:
        arrived.set()  # called on the server's loop, which is this test's loop
        return hang_reply()

    server.enqueue(hang_and_signal)
    client = client_for(server, timeout=30)
    task = asyncio.create_task(client.chat.completions.create(model="m", messages=MESSAGES))
    await asyncio.wait_for(arrived.wait(), 5)
    started = time.perf_counter()
    await server.stop()
    with pytest.raises(openai.APIConnectionError):
        await task
    assert time.perf_counter() - started < 5


async def test_requests_recorded_and_callable_step(
    server: ScriptedModelServer, client_for: ClientFactory
) -> None:
    def echo(body: dict[str, Any]) -> Any:
        return text_reply("echo: " + body["messages"][-1]["content"])

    server.enqueue(echo)
    client = client_for(server)
    reply = await client.chat.completions.create(
        model="gpt-x", messages=MESSAGES, temperature=0.5, tools=[]
    )
    assert reply.choices[0].message.content == "echo: " + MESSAGES[0]["content"]
    assert len(server.requests) == 1
    body = server.requests[0]
    assert body["model"] == "gpt-x"
    assert body["messages"] == MESSAGES
    assert body["temperature"] == 0.5
    assert not body.get("stream")

    models = await client.models.list()
    assert {m.id for m in models.data} == {"scripted-model", "gpt-x"}

    server.clear()
    assert server.requests == [] and server.chunk_log == []


def test_start_in_thread_from_sync_code() -> None:
    server = ScriptedModelServer()
    server.start_in_thread()
    try:
        assert server.base_url.startswith("http://127.0.0.1:")
        server.enqueue(text_reply("from a thread"), text_reply("streamed too"))
        client = openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)
        reply = client.chat.completions.create(model="m", messages=MESSAGES)
        assert reply.choices[0].message.content == "from a thread"
        stream = client.chat.completions.create(model="m", messages=MESSAGES, stream=True)
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert text == "streamed too"
        assert len(server.requests) == 2
    finally:
        server.stop_in_thread()
    with client, pytest.raises(openai.APIConnectionError):  # nothing listens any more
        client.chat.completions.create(model="m", messages=MESSAGES)
