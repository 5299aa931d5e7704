"""``agentls exec "task"`` without a target: the agent task (``agent/run.py``) in a terminal.

This module is the terminal as a ``Host`` (``agent/host.py``): questions on the tty
(no terminal: no), no diagnostics, no buffers (the disk is the text); edits go
straight to the files (``DiskSink``, with undo). Each tool call is printed on stderr as
it happens, then the diff of the task on stdout and a one-line summary; exit code 0
when the task is done. The policy is the editor's (``agent.approval`` from
``--approval``, then the user's rules from ``--settings``); so are the limits,
explorers and ``verify.commands``.

Ctrl-C stops the task cleanly: the edits so far are kept and shown (the diff and the
files), a patch that reverts them is saved, a terminal is offered to revert them at
once; the exit code is 130.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from agentls.agent.host import AgentRequest, Diagnostics
from agentls.agent.loop import AgentEvent, ModelText, ToolRan
from agentls.agent.run import AgentTask
from agentls.agent.tasks import TaskRegistry, TaskResult
from agentls.cli_settings import INTERRUPTED, settings_and_model
from agentls.context.engine import ContextEngine
from agentls.edits.documents import EditorError
from agentls.model.factory import ClosableModel
from agentls.policy.approval import Answer, Kind
from agentls.policy.display import one_line, visible
from agentls.tools.command_checkpoint import CommandCheckpoint, undo_message
from agentls.tools.write import DiskSink


def _ask_terminal(what: str) -> str:
    """Ask on the terminal; "" when there is none. ``what`` comes with its command or
    path made visible (``policy/display.py``); the question starts on a fresh line
    with the terminal's attributes reset, so nothing printed before can hide it."""
    if not sys.stdin.isatty():
        return ""
    reset = "\x1b[0m" if sys.stderr.isatty() else ""
    print(f"{reset}\nagentls: {what} ", end="", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower()


@dataclass
class UndoableDiskSink(DiskSink):
    """``DiskSink`` with the undo of a task: every file back to its first text."""

    commands: CommandCheckpoint | None = None

    @property
    def has_changes(self) -> bool:
        return bool(self.originals) or bool(self.commands is not None and self.commands.changes)

    def edited(self) -> list[str]:
        on_disk = self.commands.changes if self.commands is not None else {}
        return sorted({*self.originals, *on_disk})

    def edited_uris(self) -> list[str]:
        return [(self.root / r).as_uri() for r in self.edited()]

    async def _undo_edits(self) -> str:
        for relative, before in sorted(self.originals.items()):
            path = self._path(relative)
            if before is None:
                path.unlink(missing_ok=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(before, encoding="utf-8")
        count = len(self.originals)
        self.originals.clear()
        return f"restored {count} file{'s' if count != 1 else ''}"

    async def undo(self) -> str:
        disk = await asyncio.to_thread(self.commands.undo) if self.commands else None
        return await undo_message(self._undo_edits if self.originals else None, disk)

    def full_diff(self) -> str:
        commands = self.commands.diff(skip=self.originals) if self.commands else ""
        return self.diff() + commands


@dataclass
class TerminalHost:
    """The terminal a task runs in (see the module doc)."""

    diagnostics: Diagnostics | None = None
    warned: set[str] = field(default_factory=set)

    async def ask(self, kind: Kind, what: str) -> Answer:
        reply = await asyncio.to_thread(_ask_terminal, f"{what}? [y/N/a=all of this kind]")
        if reply in ("a", "all"):
            return "task"
        return "once" if reply in ("y", "yes") else "deny"

    async def choose(self, message: str, options: Sequence[str]) -> str | None:
        self.show(message)
        listed = ", ".join(f"{n}={o}" for n, o in enumerate(options, 1))
        reply = await asyncio.to_thread(_ask_terminal, f"choose ({listed}):")
        if reply.isdigit() and 1 <= int(reply) <= len(options):
            return options[int(reply) - 1]
        return None

    def text_of(self, relative: str) -> str | None:
        return None  # the disk is the text

    def unsaved(self) -> dict[str, str]:
        return {}

    async def context(self, request: AgentRequest, budget: int) -> str:
        return ""

    def report(self, text: str) -> None:
        print(f"… {visible(text)}", file=sys.stderr)

    def show(self, message: str) -> None:
        for line in message.split("\n"):
            print(visible(line), file=sys.stderr)

    def warn_once(self, message: str) -> None:
        if message not in self.warned:
            self.warned.add(message)
            print(visible(message), file=sys.stderr)


def _show(event: AgentEvent) -> None:
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


def _print_diff(diff: str) -> None:
    if sys.stdout.isatty():  # shown, not piped to patch: the model's bytes made visible
        diff = "\n".join(visible(line) for line in diff.split("\n"))
    sys.stdout.write(diff)
    sys.stdout.flush()


async def _after_cancel(sink: UndoableDiskSink, root: Path) -> None:
    """Ctrl-C: what was changed, and how to revert it (at once, on a terminal)."""
    diff = sink.full_diff()
    _print_diff(diff)
    files = sink.edited()
    if not files:
        print("agentls: stopped; no file was changed", file=sys.stderr)
        return
    print(f"agentls: stopped; changed so far: {', '.join(files)}", file=sys.stderr)
    fd, name = tempfile.mkstemp(prefix="agentls-", suffix=".patch")
    with os.fdopen(fd, "w", encoding="utf-8") as patch:
        patch.write(diff)
    if sys.stdin.isatty():
        reply = await asyncio.to_thread(_ask_terminal, "revert these changes? [y/N]")
        if reply in ("y", "yes"):
            try:
                print(f"agentls: reverted ({await sink.undo()})", file=sys.stderr)
                return
            except EditorError as error:
                print(f"agentls: not all reverted: {error}", file=sys.stderr)
    print(f"agentls: to revert them: patch -R -p1 -d {root} < {name}", file=sys.stderr)


async def _run(
    core: AgentTask, registry: TaskRegistry, model: ClosableModel, root: Path
) -> TaskResult:
    task = core.task
    interrupts = 0

    def on_interrupt() -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts == 1:
            print("\nagentls: stopping (Ctrl-C again to quit at once)", file=sys.stderr)
            task.cancel()
        else:
            os._exit(INTERRUPTED)

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, on_interrupt)
    try:
        registry.start(task, lambda _: core.run())
        assert task.runner is not None
        result = await task.runner
        if task.cancel_requested:  # Ctrl-C
            assert isinstance(core.sink, UndoableDiskSink)
            await _after_cancel(core.sink, root)
        return result
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        await model.aclose()  # on every path: no connection left open at exit


def main(args: argparse.Namespace) -> int:
    root = Path(args.workspace or ".").resolve()
    if not root.is_dir():
        print(f"agentls: {root}: no such folder", file=sys.stderr)
        return 2
    settings, model = settings_and_model(args)
    if model is None:
        return 2
    settings = replace(settings, agent=replace(settings.agent, approval=args.approval))
    try:
        engine = ContextEngine(root)
        engine.build()
    except KeyboardInterrupt:
        print("\nagentls: stopped before the task began; nothing was changed", file=sys.stderr)
        asyncio.run(model.aclose())
        return INTERRUPTED
    registry = TaskRegistry()
    task = registry.new(args.instruction, None)
    sink = UndoableDiskSink(root)
    request = AgentRequest(args.instruction, getattr(args, "mode", "edit"))
    core = AgentTask(
        task,
        request,
        settings,
        model,
        TerminalHost(),
        sink,
        engine,
        on_cancel="keep",
        on_event=_show,
        undo_hint="shown below",
    )
    result = asyncio.run(_run(core, registry, model, root))
    if task.cancel_requested:
        return INTERRUPTED
    _print_diff(sink.full_diff())
    usage = result.usage
    cost = f", ${usage.cost_usd:.4f}" if usage.cost_usd is not None else ""
    print(
        f"agentls: {result.status}: {visible(result.summary)} ({core.steps} steps, "
        f"{len(sink.edited())} files edited, {usage.input_tokens} in, "
        f"{usage.output_tokens} out tokens{cost})",
        file=sys.stderr,
    )
    return 0 if result.status == "done" else 1
