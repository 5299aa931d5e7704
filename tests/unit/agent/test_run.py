"""The task's one tool registry: every tool declares its kind, and the policy's answer
for a kind decides what is offered (the same for every host)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from agentls.agent.host import AgentRequest
from agentls.agent.run import AgentTask
from agentls.agent.tasks import TaskRegistry
from agentls.cli_agent import TerminalHost, UndoableDiskSink
from agentls.config import Approval, ModelSettings, Settings
from agentls.context.engine import ContextEngine
from agentls.model.factory import model_from
from tests.unit.context.workspace import make_workspace

KINDS = {
    "read_file": "read", "list_files": "read", "search": "read", "find_symbol": "read",
    "edit_file": "write", "write_file": "write", "delete_file": "write",
    "run_command": "command",
}  # fmt: skip


async def _task(root: Path, approval: Approval) -> AgentTask:
    settings = Settings()
    settings = replace(settings, agent=replace(settings.agent, approval=approval))
    model = model_from(ModelSettings(base_url="http://127.0.0.1:9/v1", name="m"), env={})
    engine = ContextEngine(root)
    engine.build()
    task = TaskRegistry().new("look", None)
    core = AgentTask(
        task, AgentRequest("look"), settings, model, TerminalHost(), UndoableDiskSink(root), engine
    )
    await core._start_commands()
    await model.aclose()
    return core


async def test_every_tool_declares_what_it_does(tmp_path: Path) -> None:
    core = await _task(make_workspace(tmp_path / "ws"), "auto-edit")
    assert {t.spec.name: t.kind for t in core.every_tool()} == KINDS


@pytest.mark.parametrize(
    ("approval", "acting", "offered"),
    [
        ("read-only", True, {"read"}),
        ("ask", True, {"read", "write", "command"}),
        ("full-auto", True, {"read", "write", "command"}),
        ("full-auto", False, {"read"}),  # the plan and ask phases
    ],
)
async def test_the_policy_offers_tools_by_their_kind(
    tmp_path: Path, approval: Approval, acting: bool, offered: set[str]
) -> None:
    core = await _task(make_workspace(tmp_path / "ws"), approval)
    assert {t.kind for t in core.offered(acting)} == offered
