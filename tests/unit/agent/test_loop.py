"""The agent loop over real SSE: tools run, failures go back to the model, limits hold."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentls.agent.loop import AgentLoop, Finished, Limits, ToolRan
from agentls.config import ModelSettings
from agentls.context.files import WorkspaceFiles
from agentls.context.index import WorkspaceIndex
from agentls.model.openai_chat import OpenAIChatModel
from agentls.tools.box import Toolbox
from agentls.tools.read import read_only_tools
from agentls.tools.workspace import Workspace
from tests.support.model_server import ScriptedModelServer, text_reply, tool_call_reply
from tests.unit.context.workspace import SECRET, make_workspace


@pytest.fixture
def server(model_server: ScriptedModelServer) -> ScriptedModelServer:
    return model_server


def make_loop(server: ScriptedModelServer, root: Path, cache: Path, **limits: int) -> AgentLoop:
    files = WorkspaceFiles(root)
    index = WorkspaceIndex(root, cache, files, workers=1)
    index.build()
    tools = read_only_tools(Workspace(files), index.definitions)
    model = OpenAIChatModel(
        ModelSettings(base_url=server.base_url, name="scripted-model", max_retries=0), env={}
    )
    return AgentLoop(model, Toolbox(tools), Limits(**limits), str(root))


async def run(loop: AgentLoop, task: str = "look around") -> list[object]:
    return [event async for event in loop.run(task)]


async def test_read_then_finish(server: ScriptedModelServer, tmp_path: Path) -> None:
    loop = make_loop(server, make_workspace(tmp_path / "ws"), tmp_path / "c")
    server.enqueue(tool_call_reply([("read_file", {"path": "app/models.py", "limit": 3})]))
    server.enqueue(tool_call_reply([("finish", {"summary": "User lives in app/models.py"})]))
    events = await run(loop, "where is User?")
    ran = [e for e in events if isinstance(e, ToolRan)]
    assert len(ran) == 1 and ran[0].outcome.ok and "class User:" in ran[0].outcome.text
    end = events[-1]
    assert isinstance(end, Finished) and end.status == "done" and end.steps == 2
    assert end.summary == "User lives in app/models.py"
    assert end.input_tokens > 0 and end.output_tokens > 0
    second = server.requests[1]["messages"]
    assert second[-1]["role"] == "tool" and "class User:" in second[-1]["content"]
    assert second[-2]["tool_calls"][0]["id"] == second[-1]["tool_call_id"]
    assert {t["function"]["name"] for t in server.requests[0]["tools"]} == {
        "read_file", "list_files", "search", "find_symbol", "finish",
    }  # fmt: skip


async def test_bad_calls_go_back_to_the_model_which_corrects_itself(
    server: ScriptedModelServer, tmp_path: Path
) -> None:
    loop = make_loop(server, make_workspace(tmp_path / "ws"), tmp_path / "c")
    server.enqueue(tool_call_reply([("read_file", '{"path": "app/models.py"')]))  # malformed
    server.enqueue(tool_call_reply([("open_file", {"path": "x"})]))  # no such tool
    server.enqueue(tool_call_reply([("read_file", {"file": "app/models.py"})]))  # wrong argument
    server.enqueue(tool_call_reply([("find_symbol", {"name": "slugify"})]))
    server.enqueue(text_reply("slugify is in app/text.py"))  # an answer without calls ends it
    events = await run(loop)
    texts = [e.outcome.text for e in events if isinstance(e, ToolRan)]
    assert "not valid JSON" in texts[0]
    assert "no tool named 'open_file'" in texts[1] and "read_file" in texts[1]
    assert "missing path" in texts[2]
    assert texts[3].startswith("app/text.py:4-5: function slugify")
    end = events[-1]
    assert isinstance(end, Finished) and end.status == "done"
    assert end.summary == "slugify is in app/text.py"


async def test_the_same_failing_call_repeated_stops_the_task(
    server: ScriptedModelServer, tmp_path: Path
) -> None:
    loop = make_loop(server, make_workspace(tmp_path / "ws"), tmp_path / "c")
    server.enqueue(*[tool_call_reply([("read_file", {"path": "nope.py"})])] * 5)
    events = await run(loop)
    end = events[-1]
    assert isinstance(end, Finished) and end.status == "failed"
    assert "same failing call (read_file) 3 times" in end.summary and "no such file" in end.summary
    assert len(server.requests) == 3


async def test_step_and_token_limits(server: ScriptedModelServer, tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    server.enqueue(*[tool_call_reply([("list_files", {})])] * 10)
    end = (await run(make_loop(server, root, tmp_path / "c", max_steps=4)))[-1]
    assert isinstance(end, Finished) and end.status == "failed" and "step limit (4)" in end.summary
    server.clear()
    server.enqueue(*[tool_call_reply([("list_files", {"path": "app"})])] * 10)
    end = (await run(make_loop(server, root, tmp_path / "c", max_tokens=1)))[-1]
    assert isinstance(end, Finished) and "token budget (1)" in end.summary


async def test_secrets_never_reach_the_model(server: ScriptedModelServer, tmp_path: Path) -> None:
    loop = make_loop(server, make_workspace(tmp_path / "ws"), tmp_path / "c")
    attempts = [
        ("read_file", {"path": ".env"}),
        ("read_file", {"path": "config/credentials.json"}),
        ("search", {"pattern": "sk-canary|API_KEY|token"}),
        ("list_files", {}),
        ("list_files", {"path": "config"}),
        ("read_file", {"path": "private/notes.py"}),
        ("find_symbol", {"name": "slugify"}),
    ]
    for name, arguments in attempts:
        server.enqueue(tool_call_reply([(name, arguments)]))
    server.enqueue(tool_call_reply([("finish", {"summary": "done"})]))
    events = await run(loop)
    assert isinstance(events[-1], Finished) and events[-1].status == "done"
    sent = json.dumps(server.requests)
    assert SECRET not in sent
    assert "a secret file" in sent  # the model was told why, not shown the file


async def test_project_instructions_reach_the_system_prompt(
    server: ScriptedModelServer, tmp_path: Path
) -> None:
    loop = make_loop(server, make_workspace(tmp_path / "ws"), tmp_path / "c")
    server.enqueue(tool_call_reply([("finish", {"summary": "ok"})]))
    events = [e async for e in loop.run("task", instructions="## AGENTS.md\nAlways use tabs.")]
    assert isinstance(events[-1], Finished)
    system = server.requests[0]["messages"][0]
    assert system["role"] == "system" and "Always use tabs." in system["content"]
