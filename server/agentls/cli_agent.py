"""``agentls exec "task"`` without a target: the agent with its tools, in a terminal.

Edits go straight to the files (``DiskSink``); the run prints each tool call on
stderr as it happens, then the diff of the task on stdout and a one-line summary.
Exit code 0 when the task is done. The same policy as in the editor
(``policy/approval.py``: the mode, then the user's rules from the settings):
``read-only`` offers no writing tool and no command, ``ask`` asks on the terminal
before each write and command (no terminal: no), ``auto-edit`` writes freely and asks
for commands, ``full-auto`` runs sandboxed commands without asking; without a sandbox
every command asks. The same limits, explorers and ``verify.commands``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from agentls.agent.loop import AgentLoop, Finished, ModelText, ToolRan, limits_from
from agentls.agent.project import project_instructions
from agentls.agent.subagent import add_explorers
from agentls.cli_exec import settings_and_model
from agentls.context.engine import ContextEngine
from agentls.model.openai_chat import OpenAIChatModel
from agentls.policy.approval import Answer, ApprovingSink, Kind, Policy, rules_from
from agentls.policy.display import one_line, visible
from agentls.policy.sandbox import command_runner
from agentls.tools.box import Toolbox
from agentls.tools.command import command_tools, verify_failures
from agentls.tools.command_checkpoint import CommandCheckpoint
from agentls.tools.read import read_only_tools
from agentls.tools.workspace import Workspace
from agentls.tools.write import DiskSink, WriteTools


def _ask_terminal(what: str) -> Answer:
    """Ask on the terminal: y = once, a = for the rest of the task; no terminal: no.
    ``what`` comes from the policy with its command or path made visible
    (``policy/display.py``); the question starts on a fresh line with the terminal's
    attributes reset, so nothing printed before can hide it."""
    if not sys.stdin.isatty():
        return "deny"
    reset = "\x1b[0m" if sys.stderr.isatty() else ""
    print(
        f"{reset}\nagentls: {what}? [y/N/a=all of this kind] ",
        end="",
        file=sys.stderr,
        flush=True,
    )
    reply = sys.stdin.readline().strip().lower()
    if reply in ("a", "all"):
        return "task"
    return "once" if reply in ("y", "yes") else "deny"


async def _asker(kind: Kind, what: str) -> Answer:
    return await asyncio.to_thread(_ask_terminal, what)


def _show(event: object) -> None:
    """What the model did and said, on stderr: its text made visible (no escape
    sequence of the model's reaches the terminal)."""
    if isinstance(event, ToolRan):
        call, outcome = event.outcome.call, event.outcome
        first = one_line(outcome.text.split("\n", 1)[0], 160)
        mark = "·" if outcome.ok else "!"
        print(f"{mark} {call.name}({one_line(call.arguments, 120)}) -> {first}", file=sys.stderr)
    elif isinstance(event, ModelText) and event.text.strip():
        for line in event.text.strip().split("\n"):
            print(visible(line), file=sys.stderr)


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
    runner = command_runner(
        root, engine.files.secrets, settings.sandbox, settings.agent.protected_paths
    )
    policy = Policy(
        args.approval, _asker, rules_from(settings), commands_sandboxed=runner.sandboxed
    )
    sink = DiskSink(root)
    checkpoint = CommandCheckpoint(root, settings.context.secret_patterns)  # commands' changes
    writer = WriteTools(ws, ApprovingSink(sink, policy))

    async def approve(command: str) -> str:
        return await policy.refusal_to_run(command)

    if policy.offers("write"):
        tools += writer.tools()
        if not runner.sandboxed:
            print(
                f"agentls: commands run without a sandbox ({runner.unsandboxed_reason}); "
                "each one asks first",
                file=sys.stderr,
            )
        tools += command_tools(runner, approve, checkpoint)

    async def verify() -> str:
        """verify.commands once the task has edits (they are on disk here)."""
        if not settings.verify.commands or not sink.originals:
            return ""
        return await verify_failures(
            runner, settings.verify.commands, approve=approve, checkpoint=checkpoint
        )

    loop = AgentLoop(model, Toolbox(tools), limits_from(settings), str(root), verify=verify)
    add_explorers(loop, lambda: read_only_tools(ws, engine.index.definitions), settings)
    end = asyncio.run(_run(loop, model, args.instruction, project_instructions(root)))
    diff = sink.diff() + checkpoint.diff(skip=sink.originals)
    if sys.stdout.isatty():  # shown, not piped to patch: the model's bytes made visible
        diff = "\n".join(visible(line) for line in diff.split("\n"))
    sys.stdout.write(diff)
    cost = f", ${end.cost_usd:.4f}" if end.cost_usd is not None else ""
    print(
        f"agentls: {end.status}: {visible(end.summary)} ({end.steps} steps, "
        f"{len({*writer.edited, *checkpoint.changes})} files "
        f"edited, {end.input_tokens} in, {end.output_tokens} out tokens{cost})",
        file=sys.stderr,
    )
    return 0 if end.status == "done" else 1
