"""The language server: settings, documents, code actions and the agentls.* commands.

Handlers are thin: they convert LSP values and hand the work to the core
(``agentls.agent``, ``agentls.edits``). Only this package imports pygls.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from agentls import __version__
from agentls.agent.tasks import TaskRegistry
from agentls.config import Settings, parse_settings
from agentls.edits.documents import DocumentStore
from agentls.edits.text import Encoding, TextChange
from agentls.lsp import commands
from agentls.lsp.code_actions import code_actions
from agentls.lsp.convert import encoding_of, offset
from agentls.lsp.editor import LspEditor
from agentls.model.base import Model
from agentls.model.openai_chat import OpenAIChatModel

log = logging.getLogger(__name__)


class AgentServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("agentls", __version__)
        self.store = DocumentStore()
        self.tasks = TaskRegistry()
        self.editor = LspEditor(self, self.store)
        self.settings = Settings()
        self.env: dict[str, str] = dict(os.environ)
        self._shown_warnings: set[str] = set()
        self._model: tuple[Any, Model] | None = None

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
    def supports_document_changes(self) -> bool:
        workspace = self.client_capabilities.workspace
        edit = workspace.workspace_edit if workspace else None
        return bool(edit and edit.document_changes)

    @property
    def supports_configuration(self) -> bool:
        workspace = self.client_capabilities.workspace
        return bool(workspace and workspace.configuration)

    # -- settings -----------------------------------------------------------------------
    def apply_settings(self, raw: object, source: str) -> None:
        self.settings, warnings = parse_settings(raw)
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
            self._model = (key, OpenAIChatModel(self.settings.model, self.env))
        return self._model[1]

    def show(self, kind: types.MessageType, message: str) -> None:
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))


def create_server() -> AgentServer:
    server = AgentServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: AgentServer, params: types.InitializeParams) -> None:
        ls.apply_settings(params.initialization_options, "initializationOptions")

    @server.feature(types.INITIALIZED)
    async def initialized(ls: AgentServer, params: types.InitializedParams) -> None:
        await ls.pull_configuration()

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: AgentServer, params: types.DidChangeConfigurationParams
    ) -> None:
        if ls.supports_configuration:
            await ls.pull_configuration()
        elif params.settings:
            ls.apply_settings(params.settings, "workspace/didChangeConfiguration")

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: AgentServer, params: types.DidOpenTextDocumentParams) -> None:
        doc = params.text_document
        ls.store.open(doc.uri, doc.version, doc.text, doc.language_id)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: AgentServer, params: types.DidChangeTextDocumentParams) -> None:
        uri, version = params.text_document.uri, params.text_document.version
        for change in params.content_changes:
            snapshot = ls.store.get(uri)
            if snapshot is None:
                return
            if isinstance(change, types.TextDocumentContentChangePartial):
                start = offset(snapshot, change.range.start, ls.encoding)
                end = max(start, offset(snapshot, change.range.end, ls.encoding))
                ls.store.change(uri, version, [TextChange(start, end, change.text)])
            else:
                ls.store.change(uri, version, [change.text])

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: AgentServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.store.close(params.text_document.uri)

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[
                types.CodeActionKind.QuickFix,
                types.CodeActionKind.RefactorRewrite,
                types.CodeActionKind.Refactor,
            ]
        ),
    )
    def code_action(ls: AgentServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        return code_actions(ls.store, ls.tasks, params, ls.encoding)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: AgentServer, params: None) -> None:
        ls.tasks.cancel()

    commands.register(server)
    return server
