"""The agent loop's subagents, compaction, verification, limits and cancellation, over
real SSE from the scripted model server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from agentls.agent.compact import SUMMARY_PREFIX
from agentls.agent.loop import AgentLoop, Compacted, Finished, Limits, ToolRan, Verified
from agentls.agent.subagent import subagent_tool
from agentls.config import ModelSettings
from agentls.context.files import WorkspaceFiles
from agentls.model.openai_chat import OpenAIChatModel
from agentls.tools.box import Tool, Toolbox, spec
from agentls.tools.read import read_only_tools
from agentls.tools.workspace import Workspace
from tests.support.model_server import (
    ScriptedModelServer,
    Step,
    hang_reply,
    text_reply,
    tool_call_reply,
)
from tests.unit.context.workspace import make_workspace


@pytest.fixture
async def model_for() -> AsyncIterator[Callable[[ScriptedModelServer], OpenAIChatModel]]:
    made: list[OpenAIChatModel] = []

    def make(server: ScriptedModelServer) -> OpenAIChatModel:
        settings = ModelSettings(base_url=server.base_url, name="scripted-model", max_retries=0)
        made.append(OpenAIChatModel(settings, env={}))
        return made[-1]

    yield make
    for model in made:
        await model.aclose()


MakeModel = Callable[[ScriptedModelServer], OpenAIChatModel]


def tools_of(root: Path) -> list[Tool]:
    return read_only_tools(Workspace(WorkspaceFiles(root)))


async def events_of(loop: AgentLoop, task: str = "do it") -> list[Any]:
    return [event async for event in loop.run(task)]


def system_of(body: dict[str, Any]) -> str:
    return str(body["messages"][0]["content"])


def user_of(body: dict[str, Any]) -> str:
    return str(body["messages"][1]["content"])


async def test_explorers_run_in_parallel_and_only_their_summaries_come_back(
    model_server: ScriptedModelServer, tmp_path: Path, model_for: MakeModel
) -> None:
    root = make_workspace(tmp_path / "ws")
    model = model_for(model_server)

    def route(body: dict[str, Any]) -> Step:
        if "read-only explorer" not in system_of(body):  # the agent itself
            if len(body["messages"]) == 2:
                return tool_call_reply(
                    [
                        ("spawn_subagent", {"task": "where is User defined?"}),
                        ("spawn_subagent", {"task": "where is slugify defined?"}),
                    ]
                )
            return tool_call_reply([("finish", {"summary": "both found"})])
        about_user = "User" in user_of(body)
        if len(body["messages"]) == 2:  # the explorer's first step reads a file, slowly
            path = "app/models.py" if about_user else "app/text.py"
            return tool_call_reply([("read_file", {"path": path})], tokens_per_second=20)
        where = "app/models.py:1 class User" if about_user else "app/text.py:4 def slugify"
        return tool_call_reply([("finish", {"summary": where})])

    model_server.enqueue(*[route] * 6)
    loop = AgentLoop(model, Toolbox([]), Limits(max_steps=5), str(root))
    loop.toolbox.add(
        subagent_tool(model, lambda: tools_of(root), Limits(3), str(root), loop.add_usage)
    )
    events = await events_of(loop)
    ran = [e.outcome for e in events if isinstance(e, ToolRan)]
    assert [o.call.name for o in ran] == ["spawn_subagent", "spawn_subagent"]
    assert "app/models.py:1 class User" in ran[0].text and "app/text.py:4" in ran[1].text
    assert "class User:" not in ran[0].text  # the file it read stays with the explorer
    end = events[-1]
    assert isinstance(end, Finished) and end.status == "done"
    # Both explorers asked their first question before either asked its second.
    kinds = [
        (user_of(b)[:30], len(b["messages"]))
        for b in model_server.requests
        if "read-only explorer" in system_of(b)
    ]
    assert sorted(n for _, n in kinds[:2]) == [2, 2] and len({k for k, _ in kinds[:2]}) == 2
    # The explorers' tokens count for the task: 4 explorer requests + 2 of the agent.
    assert end.input_tokens == sum(_prompt_tokens(b) for b in model_server.requests)
    # The explorer has no writing tool and cannot start explorers itself.
    explorer_tools = {t["function"]["name"] for t in model_server.requests[1]["tools"]}
    assert explorer_tools == {"read_file", "list_files", "search", "finish"}


def _prompt_tokens(body: dict[str, Any]) -> int:
    from tests.support.model_server import _usage

    return _usage(body, 0)["prompt_tokens"]


async def test_compaction_near_the_context_window_keeps_head_and_recent_turns(
    model_server: ScriptedModelServer, tmp_path: Path, model_for: MakeModel
) -> None:
    root = make_workspace(tmp_path / "ws")
    (root / "app" / "big.py").write_text(
        "".join(f"def function_{i}(value):\n    return value * {i}\n\n" for i in range(60))
    )
    summaries = steps = 0

    def route(body: dict[str, Any]) -> Step:
        nonlocal summaries, steps
        if system_of(body).startswith("You compact the history"):
            summaries += 1
            return text_reply("## Goal\nread big.py\n## Learned\nbig.py has 60 functions")
        steps += 1
        if steps <= 4:
            return tool_call_reply([("read_file", {"path": "app/big.py", "offset": steps})])
        return tool_call_reply([("finish", {"summary": "read it"})])

    model_server.enqueue(*[route] * 12)
    limits = Limits(max_steps=8, context_window=2048, compact_at=0.5)
    loop = AgentLoop(model_for(model_server), Toolbox(tools_of(root)), limits, str(root))
    events = await events_of(loop, "read app/big.py four times")
    compacted = [e for e in events if isinstance(e, Compacted)]
    assert compacted and summaries == len(compacted)
    assert all(c.tokens_after < c.tokens_before for c in compacted)
    end = events[-1]
    assert isinstance(end, Finished) and end.status == "done"
    last = model_server.requests[-1]["messages"]
    assert last[0]["role"] == "system" and last[1]["content"] == "read app/big.py four times"
    assert last[2]["role"] == "user" and last[2]["content"].startswith(SUMMARY_PREFIX)
    assert "60 functions" in last[2]["content"]
    assert last[3]["role"] == "assistant"  # recent turns verbatim, calls before their results
    ids = [c["id"] for m in last if m["role"] == "assistant" for c in m.get("tool_calls") or []]
    answers = [m["tool_call_id"] for m in last if m["role"] == "tool"]
    assert answers == ids  # every call of the kept turns still has its answer


async def test_a_failed_verification_goes_back_to_the_model(
    model_server: ScriptedModelServer, tmp_path: Path, model_for: MakeModel
) -> None:
    root = make_workspace(tmp_path / "ws")
    results = iter(["tests/test_app.py::test_slug FAILED: assert 'a-b' == 'a_b'", ""])

    async def verify() -> str:
        return next(results)

    model_server.enqueue(
        tool_call_reply([("finish", {"summary": "changed slugify"})]),
        tool_call_reply([("read_file", {"path": "app/text.py"}), ("finish", {"summary": "fixed"})]),
    )
    loop = AgentLoop(
        model_for(model_server), Toolbox(tools_of(root)), Limits(5), str(root), verify=verify
    )
    events = await events_of(loop)
    verified = [e for e in events if isinstance(e, Verified)]
    assert [bool(v.problems) for v in verified] == [True, False]
    end = events[-1]
    assert isinstance(end, Finished) and end.status == "done" and end.summary == "fixed"
    second = model_server.requests[1]["messages"]
    assert second[-1]["role"] == "tool" and "test_slug FAILED" in second[-1]["content"]
    assert second[-1]["tool_call_id"] == second[-2]["tool_calls"][0]["id"]


async def test_verification_still_failing_at_the_step_limit_fails_the_task(
    model_server: ScriptedModelServer, tmp_path: Path, model_for: MakeModel
) -> None:
    root = make_workspace(tmp_path / "ws")

    async def verify() -> str:
        return "pytest: 1 failed"

    model_server.enqueue(*[tool_call_reply([("finish", {"summary": "done?"})])] * 2)
    loop = AgentLoop(
        model_for(model_server), Toolbox(tools_of(root)), Limits(2), str(root), verify=verify
    )
    end = (await events_of(loop))[-1]
    assert isinstance(end, Finished) and end.status == "failed"
    assert "Verification still fails" in end.summary and "1 failed" in end.summary


async def test_cost_and_time_limits(
    model_server: ScriptedModelServer, tmp_path: Path, model_for: MakeModel
) -> None:
    root = make_workspace(tmp_path / "ws")
    model_server.enqueue(*[tool_call_reply([("list_files", {})])] * 5)
    limits = Limits(10, max_cost_usd=0.001, input_cost_per_mtok=5.0, output_cost_per_mtok=20.0)
    loop = AgentLoop(model_for(model_server), Toolbox(tools_of(root)), limits, str(root))
    end = (await events_of(loop))[-1]
    assert isinstance(end, Finished) and "cost budget ($0.001) is spent" in end.summary
    assert end.cost_usd is not None and end.cost_usd >= 0.001
    want = (end.input_tokens * 5.0 + end.output_tokens * 20.0) / 1e6
    assert end.cost_usd == pytest.approx(want)

    model_server.clear()
    model_server.enqueue(hang_reply())
    loop = AgentLoop(model_for(model_server), Toolbox([]), Limits(5, max_seconds=0.5), str(root))
    end = (await events_of(loop))[-1]
    assert isinstance(end, Finished) and end.status == "failed"
    assert "time limit (0.5 s)" in end.summary


async def test_cancellation_mid_tool_stops_the_tool(
    model_server: ScriptedModelServer, tmp_path: Path, model_for: MakeModel
) -> None:
    started, stopped = asyncio.Event(), asyncio.Event()

    async def slow(arguments: dict[str, Any]) -> str:
        started.set()
        try:
            await asyncio.sleep(60)
        finally:
            stopped.set()
        return "never"

    tool = Tool(spec("slow_tool", "takes a minute", {}, []), slow)
    model_server.enqueue(tool_call_reply([("slow_tool", {})]))
    loop = AgentLoop(model_for(model_server), Toolbox([tool]), Limits(5), str(tmp_path))
    runner = asyncio.ensure_future(events_of(loop))
    await asyncio.wait_for(started.wait(), 10)
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner
    assert stopped.is_set()
