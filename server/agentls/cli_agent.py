"""``agentls exec "task"`` without a target: the agent with its tools, in a terminal.

Edits go straight to the files (``DiskSink``); the run prints each tool call on
stderr as it happens, then the diff of the task on stdout and a one-line summary.
Exit code 0 when the task is done. Approval: ``read-only`` offers no writing tool,
``ask`` asks on the terminal before each write (no terminal: no write), ``auto-edit``
and ``full-auto`` write freely. ``run_command``: ``full-auto`` runs commands in the
sandbox without asking; otherwise, and wherever there is no sandbox, each command
asks on the terminal (no terminal: not run); ``read-only`` has no commands.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from agentls.agent.loop import AgentLoop, Finished, Limits, ModelText, ToolRan
from agentls.agent.project import project_instructions
from agentls.cli_exec import settings_and_model
from agentls.context.engine import ContextEngine
from agentls.model.openai_chat import OpenAIChatModel
from agentls.policy.sandbox import command_runner
from agentls.tools.box import Toolbox
from agentls.tools.command import Approve, command_tools
from agentls.tools.read import read_only_tools
from agentls.tools.workspace import ToolDenied, Workspace
from agentls.tools.write import DiskSink, WriteTools


def _ask(what: str) -> str:
    """Ask on the terminal; the reason for a no ("" when the user said yes)."""
    if not sys.stdin.isatty():
        return "not approved (no terminal to ask the user)"
    print(f"agentls: allow {what}? [y/N] ", end="", file=sys.stderr, flush=True)
    if sys.stdin.readline().strip().lower() not in ("y", "yes"):
        return "the user said no"
    return ""


class AskingSink(DiskSink):
    """Asks on the terminal before each change (``--approval ask``)."""

    def _approve(self, what: str) -> None:
        if no := _ask(what):
            raise ToolDenied(f"{what}: {no}")

    async def write(self, relative: str, old: str | None, new: str) -> None:
        self._approve(f"{'creating' if old is None else 'editing'} {relative}")
        await super().write(relative, old, new)

    async def delete(self, relative: str, old: str) -> None:
        self._approve(f"deleting {relative}")
        await super().delete(relative, old)


def _command_approver(approval: str, sandboxed: bool) -> Approve:
    """Sandboxed commands are free in ``full-auto``; every other command asks."""

    async def approve(command: str) -> bool:
        if approval == "full-auto" and sandboxed:
            return True
        return not await asyncio.to_thread(_ask, f"running `{command}`")

    return approve


def _show(event: object) -> None:
    if isinstance(event, ToolRan):
        call, outcome = event.outcome.call, event.outcome
        first = outcome.text.split("\n", 1)[0][:160]
        mark = "·" if outcome.ok else "!"
        print(f"{mark} {call.name}({call.arguments[:120]}) -> {first}", file=sys.stderr)
    elif isinstance(event, ModelText) and event.text.strip():
        print(event.text.strip(), file=sys.stderr)


async def _run(loop: AgentLoop, model: OpenAIChatModel, task: str, instructions: str) -> Finished:
    end: Finished | None = None
    try:
        async for event in loop.run(task, instructions=instructions):
            _show(event)
            if isinstance(event, Finished):
                end = event
    finally:
        await model.aclose()
    assert end is not None
    return end


def main(args: argparse.Namespace) -> int:
    root = Path(args.workspace or ".").resolve()
    if not root.is_dir():
        print(f"agentls: {root}: no such folder", file=sys.stderr)
        return 2
    settings, model = settings_and_model(args)
    if model is None:
        return 2
    engine = ContextEngine(root)
    engine.build()
    ws = Workspace(engine.files)
    tools = read_only_tools(ws, engine.index.definitions)
    sink = AskingSink(root) if args.approval == "ask" else DiskSink(root)
    writer = WriteTools(ws, sink)
    if args.approval != "read-only":
        tools += writer.tools()
        runner = command_runner(root, engine.files.secrets)
        if not runner.sandboxed:
            print(
                f"agentls: commands run without a sandbox ({runner.unsandboxed_reason}); "
                "each one asks first",
                file=sys.stderr,
            )
        tools += command_tools(runner, _command_approver(args.approval, runner.sandboxed))
    limits = Limits(settings.agent.max_steps, settings.agent.max_tokens)
    loop = AgentLoop(model, Toolbox(tools), limits, str(root))
    end = asyncio.run(_run(loop, model, args.instruction, project_instructions(root)))
    sys.stdout.write(sink.diff())
    print(
        f"agentls: {end.status}: {end.summary} ({end.steps} steps, {len(writer.edited)} files "
        f"edited, {end.input_tokens} in, {end.output_tokens} out tokens)",
        file=sys.stderr,
    )
    return 0 if end.status == "done" else 1
