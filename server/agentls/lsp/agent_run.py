"""``agentls.run`` without a range: the full agent task (``agent/run.py``) in the editor.

This module is the editor as a ``Host`` (``agent/host.py``): questions through
``window/showMessageRequest`` (no answer in time is a no), the diagnostics the editor
shows (``diagnostics.py``), its unsaved buffers, progress through the task's
``report``, messages through ``window/showMessage``; edits land as
``workspace/applyEdit`` (``LspEditSink``). The task itself (modes, tools, policy,
verification, cancellation, result) is the core's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types

from agentls.agent.host import AgentRequest, Diagnostics, Problem
from agentls.agent.run import AgentTask
from agentls.agent.tasks import Task, TaskResult
from agentls.context.engine import ContextEngine
from agentls.context.files import local_path
from agentls.lsp.diagnostics import SEVERITY, pull
from agentls.lsp.edit_sink import LspEditSink
from agentls.model.base import Model
from agentls.policy.approval import Answer, Kind

if TYPE_CHECKING:
    from agentls.lsp.server import AgentServer

__all__ = ["AgentRequest", "AgentRun", "EditorHost"]

log = logging.getLogger(__name__)

ALLOW_ONCE, ALLOW_TASK, DENY = "Allow once", "Allow for this task", "Deny"


class EditorDiagnostics:
    """The diagnostics the editor showed us (``ls.diagnostics``), by file path."""

    def __init__(self, ls: AgentServer) -> None:
        self.ls = ls

    def _uri(self, path: Path) -> str:
        target = path.resolve()
        for uri in list(self.ls.diagnostics.by_uri) + self.ls.store.uris():
            local = local_path(uri)
            if local is not None and Path(local).resolve() == target:
                return uri
        return target.as_uri()

    async def pull(self, paths: Sequence[Path] | None = None) -> None:
        await pull(self.ls, None if paths is None else [self._uri(p) for p in paths])

    def files(self) -> list[Path]:
        paths = (local_path(uri) for uri in list(self.ls.diagnostics.by_uri))
        return [Path(p) for p in paths if p is not None]

    def of(self, path: Path, since: float | None = None) -> list[Problem]:
        out = []
        for seen in self.ls.diagnostics.of(self._uri(path), since=since):
            d = seen.diagnostic
            start = d.range.start
            severity = SEVERITY.get(int(d.severity or 1), "error")
            out.append(
                Problem(start.line, start.character, severity, d.source or "", d.message, seen.at)
            )
        return out


class EditorHost:
    """The editor a task runs in (see the module doc)."""

    def __init__(
        self,
        ls: AgentServer,
        task: Task,
        engine: ContextEngine,
        sink: LspEditSink,
        report: Callable[[str], None],
    ) -> None:
        self.ls = ls
        self.task = task
        self.engine = engine
        self.sink = sink
        self.report = report
        self.diagnostics: Diagnostics | None = EditorDiagnostics(ls)

    async def ask(self, kind: Kind, what: str) -> Answer:
        choice = await self.choose(
            f"agentls task {self.task.id} wants to {what}.", [ALLOW_ONCE, ALLOW_TASK, DENY]
        )
        if choice == ALLOW_ONCE:
            return "once"
        return "task" if choice == ALLOW_TASK else "deny"

    async def choose(self, message: str, options: Sequence[str]) -> str | None:
        params = types.ShowMessageRequestParams(
            type=types.MessageType.Info,
            message=message,
            actions=[types.MessageActionItem(title=t) for t in options],
        )
        try:
            answer = await asyncio.wait_for(
                self.ls.window_show_message_request_async(params),
                self.ls.settings.agent.ask_timeout,
            )
        except TimeoutError:
            log.info("no answer to %r in time: taken as no", message[:80])
            return None
        except Exception as error:  # the client cannot ask: no
            log.info("showMessageRequest failed: %s", error)
            return None
        return answer.title if answer is not None else None

    def text_of(self, relative: str) -> str | None:
        return self.sink.text_of(relative)

    def unsaved(self) -> dict[str, str]:
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

    async def context(self, request: AgentRequest, budget: int) -> str:
        assert request.uri is not None
        selection = await self.ls.context.select(
            request.uri, request.line or 0, request.column, budget
        )
        return selection.render() if selection is not None else ""

    def show(self, message: str) -> None:
        self.ls.show(types.MessageType.Info, message)

    def warn_once(self, message: str) -> None:
        self.ls.warn_once(message)


class AgentRun:
    """One full-agent task in the editor: the core's task with the editor as its host."""

    def __init__(
        self,
        ls: AgentServer,
        task: Task,
        request: AgentRequest,
        engine: ContextEngine,
        model: Model,
        report: Callable[[str], None],
    ) -> None:
        sink = LspEditSink(ls, engine.root, f"agentls: {request.instruction[:50]}")
        self.host = EditorHost(ls, task, engine, sink, report)
        self.core = AgentTask(task, request, ls.settings, model, self.host, sink, engine)

    async def run(self) -> TaskResult:
        return await self.core.run()
