"""The agent loop going round in circles, a prompt the server refuses as too long, and a cost
budget without prices, over real SSE (the scripted server, the real openai SDK)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from agentls.agent.compact import SUMMARY_PREFIX
from agentls.agent.loop import UNPRICED, AgentLoop, Compacted, Finished, Limits
from agentls.config import ModelSettings
from agentls.context.files import WorkspaceFiles
from agentls.model.openai_chat import OpenAIChatModel
from agentls.tools.box import Toolbox
from agentls.tools.read import read_only_tools
from agentls.tools.workspace import Workspace
from tests.support.model_server import (
    ScriptedModelServer,
    error_reply,
    text_reply,
    tool_call_reply,
)
from tests.unit.context.workspace import make_workspace

VLLM = (
    "This model's maximum context length is 8192 tokens. However, you requested 9120 "
    "tokens (8096 in the messages, 1024 in the completion)."
)
LLAMA_CPP = "the request exceeds the available context size, try increasing it"


@pytest.fixture
async def loop_for(model_server: ScriptedModelServer, tmp_path: Path) -> AsyncIterator[Any]:
    models: list[OpenAIChatModel] = []
    root = make_workspace(tmp_path / "ws")

    def make(limits: Limits, verify: Any = None) -> AgentLoop:
        settings = ModelSettings(
            base_url=model_server.base_url, name="scripted-model", max_retries=0
        )
        models.append(OpenAIChatModel(settings, env={}))
        tools = read_only_tools(Workspace(WorkspaceFiles(root)))
        return AgentLoop(models[-1], Toolbox(tools), limits, str(root), verify=verify)

    yield make
    for model in models:
        await model.aclose()


async def end_of(loop: AgentLoop, task: str = "look") -> tuple[list[Any], Finished]:
    events = [event async for event in loop.run(task)]
    assert isinstance(events[-1], Finished)
    return events, events[-1]


def read(path: str) -> Any:
    return tool_call_reply([("read_file", {"path": path, "limit": 3})])


def contents(server: ScriptedModelServer, request: int) -> list[str]:
    return [str(m.get("content") or "") for m in server.requests[request]["messages"]]


async def test_the_same_successful_call_is_steered_then_stopped(
    model_server: ScriptedModelServer, loop_for: Any
) -> None:
    model_server.enqueue(*[read("app/models.py")] * 30)
    _, end = await end_of(loop_for(Limits(30)))
    assert end.status == "failed" and end.steps == 5, end.summary
    assert "same call (read_file" in end.summary and "5 times" in end.summary
    third_result = contents(model_server, 3)[-1]  # what the model read after the 3rd call
    assert "class User:" in third_result and "exact call 3 times" in third_result
    assert "exact call" not in contents(model_server, 2)[-1]


async def test_steps_that_learn_nothing_are_steered_then_stopped(
    model_server: ScriptedModelServer, loop_for: Any
) -> None:
    model_server.enqueue(*[read("app/models.py"), read("app/text.py")] * 15)
    _, end = await end_of(loop_for(Limits(30)))
    assert end.status == "failed" and end.steps == 8, end.summary
    assert "6 steps in a row repeated earlier calls" in end.summary
    notes = [c for c in contents(model_server, 5) if c.startswith("[agentls: your last 3 steps")]
    assert len(notes) == 1  # steered once, after the third step that learned nothing


async def test_a_model_that_changes_course_after_the_note_goes_on(
    model_server: ScriptedModelServer, loop_for: Any
) -> None:
    model_server.enqueue(*[read("app/models.py")] * 3)
    model_server.enqueue(tool_call_reply([("finish", {"summary": "User is in app/models.py"})]))
    _, end = await end_of(loop_for(Limits(30)))
    assert end.status == "done" and end.summary == "User is in app/models.py"


async def test_the_same_verification_failure_after_finish_stops_the_task(
    model_server: ScriptedModelServer, loop_for: Any
) -> None:
    async def verify() -> str:
        return "tests/test_app.py::test_slug FAILED"

    model_server.enqueue(*[tool_call_reply([("finish", {"summary": "done?"})])] * 10)
    _, end = await end_of(loop_for(Limits(10), verify))
    assert end.status == "failed" and end.steps == 3, end.summary
    assert "verification failed the same way after finish 3 times" in end.summary
    assert "test_slug FAILED" in end.summary
    assert "same failure as after your last finish" in contents(model_server, 2)[-1]
    assert "same failure" not in contents(model_server, 1)[-1]


async def test_a_verification_failure_that_differs_only_in_its_timings_is_the_same(
    model_server: ScriptedModelServer, loop_for: Any
) -> None:
    runs = iter(range(1, 10))

    async def verify() -> str:
        return f"FAILED tests/test_app.py::test_slug\n1 failed in 0.0{next(runs)}s"

    model_server.enqueue(*[tool_call_reply([("finish", {"summary": "done?"})])] * 10)
    _, end = await end_of(loop_for(Limits(10), verify))
    assert end.status == "failed" and end.steps == 3, end.summary


@pytest.mark.parametrize(
    ("message", "code"),
    [("Please reduce the length of the messages.", "context_length_exceeded"), (VLLM, None),
     (LLAMA_CPP, None)],
)  # fmt: skip
async def test_a_prompt_refused_as_too_long_is_compacted_and_sent_again(
    model_server: ScriptedModelServer, loop_for: Any, message: str, code: str | None
) -> None:
    model_server.enqueue(read("app/models.py"), read("app/text.py"), read("app/__init__.py"))
    model_server.enqueue(error_reply(400, message, code=code))
    model_server.enqueue(text_reply("## Goal\nfind User\n## Learned\nUser is in app/models.py"))
    model_server.enqueue(tool_call_reply([("finish", {"summary": "found it"})]))
    events, end = await end_of(loop_for(Limits(10)))  # no model.contextWindow set
    assert end.status == "done" and end.summary == "found it"
    compacted = [e for e in events if isinstance(e, Compacted)]
    assert len(compacted) == 1 and compacted[0].tokens_after < compacted[0].tokens_before
    retried = contents(model_server, 5)
    assert retried[2].startswith(SUMMARY_PREFIX) and "User is in app/models.py" in retried[2]
    assert len(model_server.requests) == 6  # the refused request was not sent twice


async def test_a_prompt_still_too_long_after_compaction_fails_clearly(
    model_server: ScriptedModelServer, loop_for: Any
) -> None:
    model_server.enqueue(read("app/models.py"), read("app/text.py"), read("app/__init__.py"))
    model_server.enqueue(error_reply(400, VLLM))
    model_server.enqueue(text_reply("## Goal\nfind User"))
    model_server.enqueue(error_reply(400, VLLM))
    _, end = await end_of(loop_for(Limits(10)))
    assert end.status == "failed"
    assert "too long for the model, even after compaction" in end.summary
    assert "maximum context length is 8192" in end.summary and "context.maxTokens" in end.summary

    model_server.clear()
    model_server.enqueue(error_reply(400, LLAMA_CPP))  # the first request: nothing to compact
    _, end = await end_of(loop_for(Limits(10)))
    assert end.status == "failed" and "no earlier turns to compact" in end.summary
    assert len(model_server.requests) == 1


async def test_a_cost_budget_without_prices_says_it_is_not_enforced(
    model_server: ScriptedModelServer, loop_for: Any
) -> None:
    model_server.enqueue(tool_call_reply([("finish", {"summary": "done"})]))
    _, end = await end_of(loop_for(Limits(5, max_cost_usd=0.01)))
    assert end.status == "done" and end.summary.count(UNPRICED) == 1
    assert "agent.maxCostUsd" in UNPRICED and "not enforced" in UNPRICED

    model_server.enqueue(tool_call_reply([("finish", {"summary": "done"})]))
    priced = Limits(5, max_cost_usd=0.01, input_cost_per_mtok=1.0, output_cost_per_mtok=1.0)
    _, end = await end_of(loop_for(priced))
    assert end.summary == "done"
