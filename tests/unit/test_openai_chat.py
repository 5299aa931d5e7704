import json
import logging

import pytest

from agentls.config import ModelSettings
from agentls.model.base import ModelError, StreamEnd, TextDelta, UsageReport
from agentls.model.openai_chat import DEFAULT_MODEL, OPENAI_URL, _events, resolve


def test_no_key_for_openai_is_a_clear_configuration_error() -> None:
    with pytest.raises(ModelError) as error:
        resolve(ModelSettings(), env={})
    assert error.value.kind == "config"
    assert "OPENAI_API_KEY" in error.value.message and "OPENAI_BASE_URL" in error.value.message


def test_environment_then_settings() -> None:
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:11434/v1", "AGENTLS_MODEL": "qwen"}
    assert resolve(ModelSettings(), env) == ("http://127.0.0.1:11434/v1", "qwen", "none")
    settings = ModelSettings(base_url="http://127.0.0.1:1/v1", name="m", api_key_env="MY_KEY")
    assert resolve(settings, {**env, "MY_KEY": "k"}) == ("http://127.0.0.1:1/v1", "m", "k")
    assert resolve(ModelSettings(), {"OPENAI_API_KEY": "sk"}) == (OPENAI_URL, DEFAULT_MODEL, "sk")


def test_chunk_events() -> None:
    chunk = '{"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}'
    assert _events(chunk) == [TextDelta("hi")]
    end = '{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}'
    assert _events(end) == [StreamEnd("stop")]
    usage = '{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7}}'
    assert _events(usage) == [UsageReport(5, 7)]


def test_malformed_or_error_chunks_are_model_errors() -> None:
    with pytest.raises(ModelError, match="not JSON"):
        _events("{oops")
    with pytest.raises(ModelError, match="overloaded"):
        _events('{"error": {"message": "overloaded\\nretry later"}}')


def test_warm_up_runs_the_sdk_request_path_without_a_socket(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import socket

    from agentls.model.openai_chat import warm_up

    real_connect = socket.socket.connect
    attempts: list[object] = []

    def connect(self: socket.socket, address: object) -> None:
        attempts.append(address)
        real_connect(self, address)  # type: ignore[arg-type]

    socket.socket.connect = connect  # type: ignore[method-assign]
    try:
        with caplog.at_level(logging.INFO, logger="agentls.model.openai_chat"):
            warm_up()
    finally:
        socket.socket.connect = real_connect  # type: ignore[method-assign]
    assert "warm-up failed" not in caplog.text  # the SDK's API still fits
    assert attempts == []


def test_tool_call_deltas_are_buffered_per_index_and_come_out_whole() -> None:
    from agentls.model.base import ToolCall
    from agentls.model.openai_chat import ChunkReader

    reader = ChunkReader()
    pieces = [
        {"index": 0, "id": "call_a", "function": {"name": "read_file", "arguments": ""}},
        {"index": 1, "id": "call_b", "function": {"name": "search", "arguments": '{"pat'}},
        {"index": 0, "function": {"arguments": '{"path": '}},
        {"index": 1, "function": {"arguments": 'tern": "x"}'}},
        {"index": 0, "function": {"arguments": '"a.py"}'}},
    ]
    for piece in pieces:
        chunk = {"choices": [{"index": 0, "delta": {"tool_calls": [piece]}}]}
        assert reader.feed(json.dumps(chunk)) == []  # nothing until the end
    end = {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}
    assert reader.feed(json.dumps(end)) == [
        ToolCall("call_a", "read_file", '{"path": "a.py"}'),
        ToolCall("call_b", "search", '{"pattern": "x"}'),
        StreamEnd("tool_calls"),
    ]
    # Ollama's way: whole calls, no index, arguments as an object.
    whole = {
        "choices": [
            {
                "delta": {
                    "tool_calls": [{"function": {"name": "finish", "arguments": {"summary": "ok"}}}]
                },
                "finish_reason": "stop",
            }
        ]
    }
    assert reader.feed(json.dumps(whole)) == [
        ToolCall("call_0", "finish", '{"summary": "ok"}'),
        StreamEnd("stop"),
    ]


async def test_tools_go_out_and_tool_calls_come_back_over_real_sse() -> None:
    from agentls.model.base import Message, ToolCall, ToolSpec
    from agentls.model.openai_chat import OpenAIChatModel
    from tests.support.model_server import ScriptedModelServer, tool_call_reply

    server = ScriptedModelServer()
    await server.start()
    try:
        server.enqueue(
            tool_call_reply(
                [("read_file", {"path": "app/models.py"}), ("search", '{"pattern": "Us')],
                text="Let me look.",
            )
        )
        model = OpenAIChatModel(
            ModelSettings(base_url=server.base_url, name="scripted-model", max_retries=0), env={}
        )
        tools = [ToolSpec("read_file", "Read a file", {"type": "object", "properties": {}})]
        history = [
            Message("user", "fix it"),
            Message("assistant", "", (ToolCall("call_9", "list_files", "{}"),)),
            Message("tool", "app/models.py", tool_call_id="call_9"),
        ]
        events = [e async for e in model.stream(history, tools)]
        calls = [e for e in events if isinstance(e, ToolCall)]
        assert [(c.name, c.arguments) for c in calls] == [
            ("read_file", '{"path": "app/models.py"}'),
            ("search", '{"pattern": "Us'),  # malformed JSON arrives as sent
        ]
        assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Let me look."
        assert isinstance(events[-1], StreamEnd) and events[-1].finish_reason == "tool_calls"
        body = server.requests[-1]
        assert body["tools"][0]["function"]["name"] == "read_file"
        assert body["messages"][1]["tool_calls"][0]["id"] == "call_9"
        assert body["messages"][2] == {
            "role": "tool",
            "tool_call_id": "call_9",
            "content": "app/models.py",
        }
    finally:
        await server.stop()
