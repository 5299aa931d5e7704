"""``model.api: "responses"``: the Responses API through the openai SDK, against the
scripted server's real ``/v1/responses`` SSE events."""

from __future__ import annotations

from pathlib import Path

from agentls.agent.loop import AgentLoop, Finished, Limits, ToolRan
from agentls.config import ModelSettings
from agentls.context.files import WorkspaceFiles
from agentls.model.base import Message, StreamEnd, TextDelta, ToolCall, ToolSpec, UsageReport
from agentls.model.factory import model_from
from agentls.model.openai_chat import OpenAIChatModel
from agentls.model.openai_responses import OpenAIResponsesModel
from agentls.tools.box import Toolbox
from agentls.tools.read import read_only_tools
from agentls.tools.workspace import Workspace
from tests.support.model_server import ScriptedModelServer, text_reply, tool_call_reply
from tests.unit.context.workspace import make_workspace


def settings(server: ScriptedModelServer, api: str = "responses") -> ModelSettings:
    return ModelSettings(
        base_url=server.base_url,
        name="scripted-model",
        max_retries=0,
        api=api,  # type: ignore[arg-type]
        max_output_tokens=300,
    )


def test_the_factory_reads_model_api() -> None:
    base = ModelSettings(base_url="http://127.0.0.1:9/v1", name="m")
    assert type(model_from(base, env={})) is OpenAIChatModel
    responses = ModelSettings(base_url="http://127.0.0.1:9/v1", name="m", api="responses")
    assert type(model_from(responses, env={})) is OpenAIResponsesModel


async def test_text_tool_calls_and_usage_come_back_from_responses_events(
    model_server: ScriptedModelServer,
) -> None:
    model_server.enqueue(
        tool_call_reply(
            [("read_file", {"path": "app/models.py"}), ("search", '{"pattern": "Us')],
            text="Let me look.",
        )
    )
    model = model_from(settings(model_server), env={})
    try:
        tools = [ToolSpec("read_file", "Read a file", {"type": "object", "properties": {}})]
        history = [
            Message("system", "be brief"),
            Message("user", "fix it"),
            Message("assistant", "", (ToolCall("call_9", "list_files", "{}"),)),
            Message("tool", "app/models.py", tool_call_id="call_9"),
        ]
        events = [e async for e in model.stream(history, tools)]
    finally:
        await model.aclose()
    calls = [e for e in events if isinstance(e, ToolCall)]
    assert [(c.name, c.arguments) for c in calls] == [
        ("read_file", '{"path": "app/models.py"}'),
        ("search", '{"pattern": "Us'),  # malformed JSON arrives as sent
    ]
    assert all(c.id.startswith("call_") for c in calls)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Let me look."
    [usage] = [e for e in events if isinstance(e, UsageReport)]
    assert usage.input_tokens > 0 and usage.output_tokens > 0
    assert events[-1] == StreamEnd("tool_calls")
    body = model_server.requests[-1]
    assert "messages" not in body and body["stream"] is True
    assert body["tools"][0] == {
        "type": "function",
        "name": "read_file",
        "description": "Read a file",
        "parameters": {"type": "object", "properties": {}},
        "strict": False,
    }
    assert body["input"][2] == {
        "type": "function_call",
        "call_id": "call_9",
        "name": "list_files",
        "arguments": "{}",
    }
    assert body["input"][3] == {
        "type": "function_call_output",
        "call_id": "call_9",
        "output": "app/models.py",
    }
    assert body["max_output_tokens"] == 300


async def test_a_reply_cut_at_the_output_limit_ends_as_length(
    model_server: ScriptedModelServer,
) -> None:
    model_server.enqueue(text_reply("half a thou", finish_reason="length"))
    model = model_from(settings(model_server), env={})
    try:
        events = [e async for e in model.stream([Message("user", "write")])]
    finally:
        await model.aclose()
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "half a thou"
    assert events[-1] == StreamEnd("length")


async def test_a_stream_cut_midway_is_a_model_error(model_server: ScriptedModelServer) -> None:
    from agentls.model.base import ModelError

    model_server.enqueue(text_reply("one two three four", cut_after_chunks=2))
    model = model_from(settings(model_server), env={})
    try:
        try:
            [e async for e in model.stream([Message("user", "write")])]
        except ModelError as error:
            assert error.kind == "cut"
        else:
            raise AssertionError("a cut stream ended as if whole")
    finally:
        await model.aclose()


async def test_the_agent_loop_runs_over_the_responses_api(
    model_server: ScriptedModelServer, tmp_path: Path
) -> None:
    root = make_workspace(tmp_path / "ws")
    model_server.enqueue(
        tool_call_reply([("read_file", {"path": "app/models.py", "limit": 3})]),
        tool_call_reply([("finish", {"summary": "User lives in app/models.py"})]),
    )
    model = model_from(settings(model_server), env={})
    tools = read_only_tools(Workspace(WorkspaceFiles(root)))
    loop = AgentLoop(model, Toolbox(tools), Limits(max_steps=5), str(root))
    try:
        events = [e async for e in loop.run("where is User?")]
    finally:
        await model.aclose()
    ran = [e for e in events if isinstance(e, ToolRan)]
    assert len(ran) == 1 and "class User:" in ran[0].outcome.text
    end = events[-1]
    assert isinstance(end, Finished) and end.status == "done", end
    assert end.summary == "User lives in app/models.py" and end.input_tokens > 0
    second = model_server.requests[1]["input"]
    assert second[-1]["type"] == "function_call_output" and "class User:" in second[-1]["output"]
    assert second[-2]["call_id"] == second[-1]["call_id"]


async def test_a_rejected_key_says_what_to_check(model_server: ScriptedModelServer) -> None:
    from agentls.model.base import ModelError
    from tests.support.model_server import error_reply

    model_server.enqueue(error_reply(401, "bad key"))
    model = model_from(settings(model_server), env={})
    try:
        try:
            [e async for e in model.stream([Message("user", "write")])]
        except ModelError as error:
            assert error.kind == "auth" and "OPENAI_API_KEY" in error.message
        else:
            raise AssertionError("a 401 went unnoticed")
    finally:
        await model.aclose()


def test_a_failed_response_mid_stream_is_a_model_error() -> None:
    from openai.types.responses import ResponseFailedEvent

    from agentls.model.base import ModelError
    from agentls.model.openai_responses import EventReader

    failed = ResponseFailedEvent.model_validate(
        {
            "type": "response.failed",
            "sequence_number": 3,
            "response": {
                "id": "resp_1", "object": "response", "created_at": 0, "model": "m",
                "status": "failed", "output": [], "parallel_tool_calls": True,
                "tool_choice": "auto", "tools": [],
                "error": {"code": "server_error", "message": "the model fell over"},
            },
        }
    )  # fmt: skip
    try:
        EventReader().feed(failed)
    except ModelError as error:
        assert "the model fell over" in error.message
    else:
        raise AssertionError("a failed response went unnoticed")
