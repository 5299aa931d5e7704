"""One full agent task, the same for every host (an editor, a terminal).

Top to bottom (``AgentTask.run``): the command runner (sandboxed when bubblewrap
works here) -> the context at the request's position, if any, and the project's
AGENTS.md/CLAUDE.md (``project.py``) -> the mode: ``ask`` answers with the read tools
and shows the answer; ``plan`` writes a plan with the read tools, asks the host to
approve it, then acts on it; ``edit`` acts -> the loop (``loop.py``) with the tools the
policy offers, verification after edits (``checks.py``) -> the ``TaskResult``.

The tools are one registry: each declares its kind (``read``, ``write``, ``command``,
``tools/box.py``) and the policy offers a kind or not (``Policy.offers``); a mode that
only reads gets the read tools. Cancellation (the task cancelled through its
``Task``) reverts the task's edits or keeps them (``edits.onCancel``) and says which.

The host (``host.py``) is all that differs: questions, diagnostics, buffers, progress
and where edits land (its ``TaskSink``). Nothing here imports pygls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from agentls.agent.checks import Recorder, Verification, diagnostics_tool, shown_path
from agentls.agent.host import AgentRequest, Host, TaskSink
from agentls.agent.loop import (
    AgentEvent,
    AgentLoop,
    Compacted,
    Finished,
    ToolRan,
    Verified,
    limits_from,
)
from agentls.agent.project import project_instructions
from agentls.agent.prompts import template
from agentls.agent.subagent import add_explorers
from agentls.agent.tasks import Status, Task, TaskResult
from agentls.config import Settings
from agentls.context.engine import ContextEngine
from agentls.context.files import local_path
from agentls.edits.documents import EditorError
from agentls.model.base import Model
from agentls.policy.approval import ApprovingSink, Policy, rules_from
from agentls.policy.sandbox import CommandRunner, command_runner
from agentls.tools.box import Tool, Toolbox
from agentls.tools.command import command_tools
from agentls.tools.command_checkpoint import CommandCheckpoint
from agentls.tools.read import read_only_tools
from agentls.tools.workspace import Workspace
from agentls.tools.write import WriteTools

APPROVE, REJECT = "Approve plan", "Reject"
CONTEXT_SHARE = 0.5  # of context.maxTokens for the first prompt's context (tools find more)
OnCancel = Literal["revert", "keep"]


class AgentTask:
    """One task (see the module doc). ``on_cancel`` overrides ``edits.onCancel``;
    ``on_event`` gets every event of the loop instead of the host's progress lines;
    ``undo_hint`` says how the user reverts edits kept on cancel."""

    def __init__(
        self,
        task: Task,
        request: AgentRequest,
        settings: Settings,
        model: Model,
        host: Host,
        sink: TaskSink,
        engine: ContextEngine,
        *,
        on_cancel: OnCancel | None = None,
        on_event: Callable[[AgentEvent], None] | None = None,
        undo_hint: str = "agentls.undo reverts them",
    ) -> None:
        self.task = task
        self.request = request
        self.settings = settings
        self.model = model
        self.host = host
        self.sink = sink
        self.engine = engine
        self.root = engine.root
        self.on_cancel: OnCancel = on_cancel or settings.edits.on_cancel
        self.on_event = on_event  # each event of the loop (else progress lines)
        self.undo_hint = undo_hint
        self.checkpoint = CommandCheckpoint(
            self.root, settings.context.secret_patterns, read_only=self._read_only
        )
        sink.commands = self.checkpoint  # commands' changes are undone with the task's
        self.recorder = Recorder(sink, self.root, host.diagnostics)
        self.ws = Workspace(engine.files, buffers=host.text_of)
        self.runner: CommandRunner | None = None  # made at the start (checks bubblewrap)
        self.policy = Policy(settings.agent.approval, host.ask, rules_from(settings))
        self.verification: Verification | None = None
        self.usage = (0, 0)
        self.steps = 0  # the steps of the task's loops so far

    async def run(self) -> TaskResult:
        try:
            return await self._run()
        except asyncio.CancelledError:
            if not self.task.cancel_handled():  # the revert below must run
                raise
        return await self._cancelled()

    async def _cancelled(self) -> TaskResult:
        summary = "Cancelled."
        if self.sink.has_changes:
            self.task.undo = self._undo
            if self.on_cancel == "revert":
                try:
                    summary += f" The task's edits were reverted ({await self.sink.undo()})."
                    self.task.undo = None
                except EditorError as error:
                    summary += f" Its edits were not reverted: {error}"
            else:
                summary += f" Its edits so far were kept ({self.undo_hint})."
        return TaskResult(
            self.task.id, "cancelled", summary, self.sink.edited_uris(), self.task.usage
        )

    async def _run(self) -> TaskResult:
        await self._start_commands()
        context = await self._context()
        instructions = project_instructions(self.root, self._folder())  # in every mode
        mode = self.request.mode
        if mode == "ask":
            end = await self._loop(False, context, instructions, "ask_mode.md")
            if end.status == "done":
                self.host.show(f"agentls: {end.summary}")
            return self._result(end)
        if mode == "plan":
            end = await self._loop(False, context, instructions, "plan_mode.md")
            if end.status != "done":
                return self._result(end)
            choice = await self.host.choose(f"agentls plan:\n{end.summary}", [APPROVE, REJECT])
            if choice != APPROVE:
                return self._result(end, "cancelled", f"Plan not approved:\n{end.summary}")
            context = f"The plan the user approved:\n{end.summary}\n\n{context}"
        return self._result(await self._loop(True, context, instructions))

    # -- the parts ------------------------------------------------------------------------
    async def _context(self) -> str:
        if self.request.uri is None or self.engine.relative(self.request.uri) is None:
            return ""
        budget = max(256, int(self.settings.context.max_tokens * CONTEXT_SHARE))
        return await self.host.context(self.request, budget)

    async def _start_commands(self) -> None:
        """The command runner, sandboxed when bubblewrap works here; without it every
        command asks, and the user is told why (once)."""
        settings = self.settings
        runner = await asyncio.to_thread(
            command_runner,
            self.root,
            self.engine.files.secrets,
            settings.sandbox,
            settings.agent.protected_paths,
            settings.agent.deny_paths,
        )
        runner.buffers = self.host.unsaved
        self.runner = runner
        if not runner.sandboxed:
            self.policy = Policy(
                settings.agent.approval,
                self.host.ask,
                rules_from(settings),
                commands_sandboxed=False,
            )
            self.host.warn_once(
                f"agentls: commands run without a sandbox ({runner.unsandboxed_reason}); "
                "each one asks first"
            )
        self.verification = Verification(
            self.recorder,
            list(settings.verify.commands),
            runner,
            self.policy.refusal_to_run,
            self.checkpoint,
            self.host.report,
            self.host.warn_once,
        )

    def _read_only(self) -> list[str]:
        """The files commands see read-only (the host's unsaved text)."""
        return list(self.runner.unsaved()) if self.runner is not None else []

    def _folder(self) -> Path | None:
        path = local_path(self.request.uri) if self.request.uri else None
        return Path(path).parent if path else None

    def every_tool(self) -> list[Tool]:
        """The registry: every tool a task can have, each wired once, with its kind."""
        tools = read_only_tools(self.ws, self.engine.index.definitions)
        if self.host.diagnostics is not None:
            tools.append(diagnostics_tool(self.host.diagnostics, self.ws))
        tools += WriteTools(self.ws, ApprovingSink(self.recorder, self.policy)).tools()
        if self.runner is not None:
            tools += command_tools(
                self.runner, self.policy.refusal_to_run, self.checkpoint, self._command_changed
            )
        return tools

    def _command_changed(self, changed: list[str] | None, started: float) -> None:
        """The workspace files a command changed are the task's edits (verification looks
        at them); ignored and secret ones (build output, caches) are not."""
        if changed is not None:
            changed = [r for r in changed if shown_path(self.ws, self.root / r) is not None]
        self.recorder.changed_by_command(changed, started)

    def offered(self, acting: bool) -> list[Tool]:
        """The tools the policy offers (``acting``: False for the read-only phases of
        the plan and ask modes: their read tools only)."""
        return [
            tool
            for tool in self.every_tool()
            if tool.kind == "read" or (acting and self.policy.offers(tool.kind))
        ]

    async def _loop(
        self, acting: bool, context: str, instructions: str, guidance: str = ""
    ) -> Finished:
        loop = AgentLoop(
            self.model,
            Toolbox(self.offered(acting)),
            limits_from(self.settings),
            str(self.root),
            verify=self.verification if acting else None,
        )
        add_explorers(
            loop,
            lambda: read_only_tools(self.ws, self.engine.index.definitions),
            self.settings,
        )
        base_in, base_out = self.usage
        end: Finished | None = None
        async for event in loop.run(
            self.request.instruction,
            context,
            instructions,
            template(guidance).template if guidance else "",
        ):
            self.task.usage.input_tokens = base_in + loop.input_tokens
            self.task.usage.output_tokens = base_out + loop.output_tokens
            self.steps = loop.steps
            if self.on_event is not None:
                self.on_event(event)
            else:
                self._show(event, loop.steps)
            if isinstance(event, Finished):
                end = event
        self.usage = (self.task.usage.input_tokens, self.task.usage.output_tokens)
        assert end is not None
        return end

    def _show(self, event: AgentEvent, step: int) -> None:
        report = self.host.report
        if isinstance(event, ToolRan):
            call = event.outcome.call
            self.task.step = f"step {step}: {call.name}"
            mark = "" if event.outcome.ok else " (failed)"
            report(f"step {step}: {call.name}{mark}")
        elif isinstance(event, Compacted):
            report(f"step {step}: compacted {event.tokens_before} -> {event.tokens_after} tok")
        elif isinstance(event, Verified) and event.problems:
            report(f"step {step}: verification found problems")

    async def _undo(self) -> str:
        """``agentls.undo``: once everything is back, there is nothing left to undo."""
        message = await self.sink.undo()
        if not self.sink.has_changes:
            self.task.undo = None
        return message

    def _result(
        self, end: Finished, status: Status | None = None, summary: str | None = None
    ) -> TaskResult:
        if self.sink.has_changes:
            self.task.undo = self._undo
        self.task.usage.cost_usd = end.cost_usd
        summary = summary or end.summary
        warnings = self.verification.warnings() if self.verification is not None else ""
        if warnings and (status or end.status) == "done":
            summary = f"{summary}\n\n{warnings}"
        return TaskResult(
            self.task.id,
            status or end.status,
            summary,
            edited_files=self.sink.edited_uris(),
            usage=self.task.usage,
        )
