"""The server object: documents, tasks, settings and what the client can do."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any, BinaryIO

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from agentls import __version__
from agentls.agent.tasks import TaskRegistry
from agentls.config import Settings, parse_settings
from agentls.context.trees import DocumentTrees
from agentls.edits.documents import DocumentStore, EditorError
from agentls.edits.text import Encoding
from agentls.lsp.arguments import converter
from agentls.lsp.convert import encoding_of
from agentls.lsp.diagnostics import EditorDiagnostics
from agentls.lsp.editor import LspEditor
from agentls.lsp.key_guard import KeyGuard
from agentls.lsp.protocol import AgentProtocol
from agentls.lsp.stdio import serve_stdio
from agentls.lsp.workspace_context import WorkspaceContext
from agentls.model.base import Model
from agentls.model.factory import model_from

log = logging.getLogger(__name__)


class AgentServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "agentls", __version__, protocol_cls=AgentProtocol, converter_factory=converter
        )
        self.store = DocumentStore()
        # One syntax tree per open document, kept current from didOpen/didChange/didClose
        # (fed through the store, which the handlers in handlers.py feed).
        self.trees = DocumentTrees()
        self.store.listeners.append(self.trees)
        self.context = WorkspaceContext(self)  # the context engines of the workspace folders
        self.store.listeners.append(self.context)
        self.tasks = TaskRegistry()
        self.diagnostics = EditorDiagnostics()  # as sent with code action requests
        self.editor = LspEditor(self, self.store)
        self.settings = Settings()
        self.key_guard = KeyGuard()
        self.env: dict[str, str] = dict(os.environ)
        self._shown_warnings: set[str] = set()
        self._model: tuple[Any, Model] | None = None
        self._retired: list[Model] = []  # model clients replaced by new settings
        self.warmup: asyncio.Future[Any] | None = None
        self.settings_ready = asyncio.Event()  # set once workspace/configuration answered
        self.client_gone = False  # stdin closed: nothing sent reaches the editor any more

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Serve on stdio with stdin read by the event loop (no reader thread; see
        ``lsp/stdio.py``)."""
        serve_stdio(self, stdin, stdout)

    # -- client capabilities ------------------------------------------------------------
    @property
    def encoding(self) -> Encoding:
        try:
            return encoding_of(self.server_capabilities.position_encoding)
        except AttributeError:
            return "utf-16"

    @property
    def supports_progress(self) -> bool:
        window = self.client_capabilities.window
        return bool(window and window.work_done_progress)

    @property
    def supports_configuration(self) -> bool:
        workspace = self.client_capabilities.workspace
        return bool(workspace and workspace.configuration)

    # -- settings -----------------------------------------------------------------------
    def apply_settings(self, raw: object, source: str) -> None:
        settings, warnings = parse_settings(raw)
        self.settings = self.key_guard.admit(self, settings)  # a key to a new host asks
        fresh = [w for w in warnings if w not in self._shown_warnings]
        self._shown_warnings.update(fresh)
        if fresh:
            log.warning("settings from %s: %s", source, "; ".join(fresh))
            self.window_show_message(
                types.ShowMessageParams(
                    type=types.MessageType.Warning,
                    message="agentls settings: " + "; ".join(fresh),
                )
            )

    async def pull_configuration(self) -> None:
        if not self.supports_configuration:
            return
        try:
            result = await self.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section="agentls")])
            )
        except Exception as error:
            log.info("workspace/configuration failed: %s", error)
            return
        if result and result[0] is not None:
            self.apply_settings(result[0], "workspace/configuration")

    def model(self) -> Model:
        """The model for a task; raises ``ModelError`` when none is configured."""
        key = (self.settings.model, tuple(sorted(self.env.items())))
        if self._model is None or self._model[0] != key:
            if self._model is not None:  # new settings: the old client is retired
                self._retired.append(self._model[1])  # (closed on the loop, maybe in use)
            self._model = (key, model_from(self.settings.model, self.env))
        return self._model[1]

    async def close_retired(self) -> None:
        """Close the connections of model clients replaced by new settings and no
        longer used by a running task."""
        retired, self._retired = self._retired, []
        for model in retired:
            await _close(model)

    async def close_model(self) -> None:
        """Close every model client's connections (at shutdown)."""
        model, self._model = self._model, None
        if model is not None:
            self._retired.append(model[1])
        await self.close_retired()

    async def apply_edit(
        self, params: types.ApplyWorkspaceEditParams
    ) -> types.ApplyWorkspaceEditResult | None:
        """``workspace/applyEdit``, answered within ``edits.applyTimeout``; raises
        ``EditorError`` when the editor is gone or does not answer."""
        if self.client_gone:
            raise EditorError("the editor is gone")
        timeout = self.settings.edits.apply_timeout
        try:
            return await asyncio.wait_for(self.workspace_apply_edit_async(params), timeout)
        except TimeoutError:
            raise EditorError(f"the editor did not answer the edit in {timeout:g} s") from None

    def warn_once(self, message: str) -> None:
        """A warning shown once per server run."""
        if message not in self._shown_warnings:
            self._shown_warnings.add(message)
            log.warning("%s", message)
            self.show(types.MessageType.Warning, message)

    def show(self, kind: types.MessageType, message: str) -> None:
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))


async def _close(model: Model) -> None:
    close = getattr(model, "aclose", None)
    if close is not None:
        try:
            await close()
        except Exception as error:  # closing must never fail a shutdown
            log.info("closing the model client: %s", error)
