"""``agentls.run`` without a range: the full agent, its edits as workspace edits.

One task, top to bottom (``run_agent``): pick the workspace folder -> build the tools
over the editor's buffers (reads), the policy (writes ask, or not, by
``agent.approval``) and the edit sink (``workspace/applyEdit``) -> gather context at
the document and position, if given -> run the loop, reporting each step as progress
-> the result, with the task's checkpoint (``agentls.undo`` reverts every file).

Modes: ``edit`` acts; ``ask`` answers without any writing tool, the answer shown to
the user; ``plan`` first writes a plan with the read tools only, shows it, and acts
on it only when the user approves it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from lsprotocol import types

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
from agentls.context.engine import ContextEngine
from agentls.context.files import local_path
from agentls.edits.documents import EditorError
from agentls.lsp.diagnostics import describe, pull
from agentls.lsp.edit_sink import LspEditSink
from agentls.model.base import Model
from agentls.policy.approval import Answer, ApprovingSink, Kind, Policy, rules_from
from agentls.policy.sandbox import CommandRunner, command_runner
from agentls.tools.box import Tool, Toolbox, spec
from agentls.tools.command import command_tools, verify_failures
from agentls.tools.command_checkpoint import CommandCheckpoint
from agentls.tools.read import read_only_tools
from agentls.tools.workspace import ToolDenied, Workspace
from agentls.tools.write import WriteTools

if TYPE_CHECKING:
    from agentls.lsp.server import AgentServer

log = logging.getLogger(__name__)

ALLOW_ONCE, ALLOW_TASK, DENY = "Allow once", "Allow for this task", "Deny"
APPROVE, REJECT = "Approve plan", "Reject"
CONTEXT_SHARE = 0.5  # of context.maxTokens for the first prompt's context (tools find more)


@dataclass(frozen=True)
class AgentRequest:
    instruction: str
    mode: Literal["edit", "plan", "ask"]
    uri: str | None
    line: int | None  # 0-based, in the document (None: no position)
    column: int


def asker(ls: AgentServer, task: Task) -> Callable[[Kind, str], Awaitable[Answer]]:
    """Ask the user with ``window/showMessageRequest``; no answer in time is a deny."""

    async def ask(kind: Kind, what: str) -> Answer:
        choice = await _choose(
            ls, f"agentls task {task.id} wants to {what}.", [ALLOW_ONCE, ALLOW_TASK, DENY]
        )
        if choice == ALLOW_ONCE:
            return "once"
        return "task" if choice == ALLOW_TASK else "deny"

    return ask


async def _choose(ls: AgentServer, message: str, titles: list[str]) -> str | None:
    params = types.ShowMessageRequestParams(
        type=types.MessageType.Info,
        message=message,
        actions=[types.MessageActionItem(title=t) for t in titles],
    )
    try:
        answer = await asyncio.wait_for(
            ls.window_show_message_request_async(params), ls.settings.agent.ask_timeout
        )
    except TimeoutError:
        log.info("no answer to %r in time: taken as no", message[:80])
        return None
    except Exception as error:  # the client cannot ask: no
        log.info("showMessageRequest failed: %s", error)
        return None
    return answer.title if answer is not None else None


def diagnostics_tool(ls: AgentServer, ws: Workspace) -> Tool:
    async def run(arguments: dict[str, object]) -> str:
        raw = arguments.get("path")
        if raw is not None:
            uris = [_uri_in(ls, ws, ws.resolve(str(raw)).relative)]
            await pull(ls, uris)  # what the editor shows now, when it can say
        else:
            await pull(ls)
            uris = sorted(ls.diagnostics.by_uri)
        lines = []
        for uri in uris:
            relative = _shown(ws, uri)
            if relative is not None:
                lines += [describe(relative, s) for s in ls.diagnostics.of(uri)]
        if not lines:
            where = f" for {raw}" if raw else ""
            return (
                f"no diagnostics reported by the editor{where} (the editor sends those it "
                "shows with its code action requests)"
            )
        return "\n".join(lines)

    return Tool(
        spec(
            "get_diagnostics",
            "The errors and warnings the editor shows (its linters, type checkers, compilers).",
            {"path": {"type": "string", "description": "one file; all files when omitted"}},
            [],
        ),
        run,
    )


def _shown(ws: Workspace, uri: str) -> str | None:
    """The workspace path whose diagnostics the model may see: none for a file outside
    the workspace, a secret file or an ignored one (a linter's message may quote it)."""
    path = local_path(uri)
    if path is None:
        return None
    try:
        return ws.resolve(path).relative
    except ToolDenied:
        return None


def _uri_in(ls: AgentServer, ws: Workspace, relative: str) -> str:
    target = (ws.root / relative).resolve()
    for uri in list(ls.diagnostics.by_uri) + ls.store.uris():
        path = local_path(uri)
        if path is not None and Path(path).resolve() == target:
            return uri
    return target.as_uri()


class AgentRun:
    """One full-agent task in the editor (see the module doc)."""

    def __init__(
        self,
        ls: AgentServer,
        task: Task,
        request: AgentRequest,
        engine: ContextEngine,
        model: Model,
        report: Callable[[str], None],
    ) -> None:
        self.ls = ls
        self.task = task
        self.request = request
        self.engine = engine
        self.model = model
        self.report = report
        self.root = engine.root
        self.sink = LspEditSink(ls, self.root, f"agentls: {request.instruction[:50]}")
        self.sink.commands = CommandCheckpoint(
            self.root, ls.settings.context.secret_patterns, read_only=self._read_only
        )
        self.ws = Workspace(engine.files, buffers=self.sink.text_of)
        self.runner: CommandRunner | None = None  # made at the start (checks bubblewrap)
        self.policy = Policy(ls.settings.agent.approval, asker(ls, task), rules_from(ls.settings))
        self.usage = (0, 0)
        self.verified_at = 0.0  # the edits verification last looked at
        self.problems = ""  # and what it found

    async def run(self) -> TaskResult:
        try:
            return await self._run()
        except asyncio.CancelledError:
            if not self.task.cancel_requested:
                raise
        current = asyncio.current_task()
        if current is not None:
            current.uncancel()  # the cancel is handled: the revert below must run
        summary = "Cancelled."
        if self.sink.has_changes:
            self.task.undo = self._undo
            if self.ls.settings.edits.on_cancel == "revert":
                try:
                    summary += f" The task's edits were reverted ({await self.sink.undo()})."
                    self.task.undo = None
                except EditorError as error:
                    summary += f" Its edits were not reverted: {error}"
            else:
                summary += " Its edits so far were kept (agentls.undo reverts them)."
        return TaskResult(
            self.task.id, "cancelled", summary, self.sink.edited_uris(), self.task.usage
        )

    async def _run(self) -> TaskResult:
        await self._start_commands()
        context = await self._context()
        instructions = project_instructions(self.root, self._folder())
        if self.request.mode == "ask":
            end = await self._loop(read_only=True, guidance="ask_mode.md", context=context)
            if end.status == "done":
                self.ls.show(types.MessageType.Info, f"agentls: {end.summary}")
            return self._result(end)
        if self.request.mode == "plan":
            end = await self._loop(read_only=True, guidance="plan_mode.md", context=context)
            if end.status != "done":
                return self._result(end)
            choice = await _choose(self.ls, f"agentls plan:\n{end.summary}", [APPROVE, REJECT])
            if choice != APPROVE:
                return self._result(end, "cancelled", f"Plan not approved:\n{end.summary}")
            context = f"The plan the user approved:\n{end.summary}\n\n{context}"
        end = await self._loop(read_only=False, context=context, instructions=instructions)
        return self._result(end)

    # -- the parts ------------------------------------------------------------------------
    async def _context(self) -> str:
        request = self.request
        if request.uri is None or self.engine.relative(request.uri) is None:
            return ""
        budget = max(256, int(self.ls.settings.context.max_tokens * CONTEXT_SHARE))
        selection = await self.ls.context.select(
            request.uri, request.line or 0, request.column, budget
        )
        return selection.render() if selection is not None else ""

    async def _start_commands(self) -> None:
        """The command runner, sandboxed when bubblewrap works here; without it every
        command asks, and the user is told why (once)."""
        self.runner = await asyncio.to_thread(
            command_runner,
            self.root,
            self.engine.files.secrets,
            self.ls.settings.sandbox,
            self.ls.settings.agent.protected_paths,
        )
        self.runner.buffers = self._unsaved
        if not self.runner.sandboxed:
            self.policy = Policy(
                self.ls.settings.agent.approval,
                asker(self.ls, self.task),
                rules_from(self.ls.settings),
                commands_sandboxed=False,
            )
            self.ls.warn_once(
                f"agentls: commands run without a sandbox ({self.runner.unsandboxed_reason}); "
                "each one asks first"
            )

    def _unsaved(self) -> dict[str, str]:
        """The editor's texts of workspace files (open buffers, and what this task sent
        to files not open), for commands to see instead of the disk."""
        texts: dict[str, str] = {}
        for uri in self.ls.store.uris():
            path = local_path(uri)
            relative = self.engine.files.relative(path) if path else None
            snapshot = self.ls.store.get(uri)
            if relative is not None and snapshot is not None:
                texts[relative] = snapshot.text
        for relative, text in self.sink.overlay.items():
            if text is not None:
                texts.setdefault(relative, text)
        return texts

    def _read_only(self) -> list[str]:
        """The files commands see read-only (the editor's unsaved text)."""
        return list(self.runner.unsaved()) if self.runner is not None else []

    async def _approve_command(self, command: str) -> str:
        return await self.policy.refusal_to_run(command)

    def _folder(self) -> Path | None:
        path = local_path(self.request.uri) if self.request.uri else None
        return Path(path).parent if path else None

    def _tools(self, read_only: bool) -> list[Tool]:
        tools = read_only_tools(self.ws, self.engine.index.definitions)
        tools.append(diagnostics_tool(self.ls, self.ws))
        if not read_only and self.policy.offers("write"):
            tools += WriteTools(self.ws, ApprovingSink(self.sink, self.policy)).tools()
        if not read_only and self.policy.offers("command") and self.runner is not None:
            tools += command_tools(self.runner, self._approve_command, self.sink.commands)
        return tools

    async def _loop(
        self, read_only: bool, context: str, guidance: str = "", instructions: str = ""
    ) -> Finished:
        settings = self.ls.settings
        loop = AgentLoop(
            self.model,
            Toolbox(self._tools(read_only)),
            limits_from(settings),
            str(self.root),
            verify=None if read_only else self._verify,
        )
        add_explorers(
            loop, lambda: read_only_tools(self.ws, self.engine.index.definitions), settings
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
            self._show(event, loop.steps)
            if isinstance(event, Finished):
                end = event
        self.usage = (self.task.usage.input_tokens, self.task.usage.output_tokens)
        assert end is not None
        return end

    async def _verify(self) -> str:
        """After new edits: the errors the editor reported for the edited files since
        their last edit, and the failures of ``verify.commands`` ("" when all is well)."""
        last_edit = max((c.edited_at for c in self.sink.changes.values()), default=0.0)
        if last_edit <= self.verified_at:
            return self.problems  # nothing changed since the last verification
        self.verified_at = last_edit
        await pull(
            self.ls,
            [self.sink.uri_of(r) for r, c in self.sink.changes.items() if c.after is not None],
        )
        problems = []
        for relative, change in sorted(self.sink.changes.items()):
            if change.after is None:
                continue
            uri = self.sink.uri_of(relative)
            seen = self.ls.diagnostics.of(uri, since=change.edited_at, errors_only=True)
            problems += [describe(relative, s) for s in seen]
        if problems:
            problems.insert(0, "The editor reports errors in the files you edited:")
        commands = self.ls.settings.verify.commands
        if commands and self.runner is not None:
            self.report(f"verifying: {', '.join(commands)}")
            failed = await verify_failures(
                self.runner, commands, approve=self._approve_command, checkpoint=self.sink.commands
            )
            if failed:
                problems.append(failed)
        self.problems = "\n".join(problems)
        return self.problems

    def _show(self, event: AgentEvent, step: int) -> None:
        if isinstance(event, ToolRan):
            call = event.outcome.call
            self.task.step = f"step {step}: {call.name}"
            mark = "" if event.outcome.ok else " (failed)"
            self.report(f"step {step}: {call.name}{mark}")
        elif isinstance(event, Compacted):
            self.report(f"step {step}: compacted {event.tokens_before} -> {event.tokens_after} tok")
        elif isinstance(event, Verified) and event.problems:
            self.report(f"step {step}: verification found problems")

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
        return TaskResult(
            self.task.id,
            status or end.status,
            summary or end.summary,
            edited_files=self.sink.edited_uris(),
            usage=self.task.usage,
        )
