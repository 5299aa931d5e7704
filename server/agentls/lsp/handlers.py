"""The handlers: settings, documents, code actions and the agentls.* commands, registered on
an ``AgentServer`` (``lsp/server.py``) by ``create_server``.

Handlers are thin: they convert LSP values and hand the work to the core
(``agentls.agent``, ``agentls.edits``). Only this package imports pygls.
"""

from __future__ import annotations

import asyncio
import importlib
import logging

from lsprotocol import types

from agentls.edits.text import TextChange
from agentls.lsp import commands
from agentls.lsp.code_actions import can_prompt, code_actions
from agentls.lsp.convert import offset
from agentls.lsp.protocol import AgentProtocol
from agentls.lsp.server import AgentServer
from agentls.model.openai_chat import warm_up as warm_model_client
from agentls.model.tokens import count_tokens

log = logging.getLogger(__name__)


def _warm_up(ls: AgentServer) -> None:
    importlib.import_module("openai")
    count_tokens("warm up")
    warm_model_client()
    if isinstance(ls.protocol, AgentProtocol):
        ls.protocol.warm_messages()


def create_server() -> AgentServer:
    server = AgentServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: AgentServer, params: types.InitializeParams) -> None:
        ls.apply_settings(params.initialization_options, "initializationOptions")
        ls.context.add_folders(params)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: AgentServer, params: types.InitializedParams) -> None:
        await ls.pull_configuration()
        ls.settings_ready.set()
        ls.context.start_builds()  # the workspace index, in a thread, with progress
        ls.context.watcher = asyncio.ensure_future(ls.context.watch_files())
        # Warm the model SDK and the tokenizer (a second together) before a task needs them.
        ls.warmup = asyncio.ensure_future(asyncio.to_thread(_warm_up, ls))

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

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: AgentServer, params: types.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.context.files_changed([types.FileEvent(uri, types.FileChangeType.Changed)])

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(
        ls: AgentServer, params: types.DidChangeWatchedFilesParams
    ) -> None:
        ls.context.files_changed(params.changes)

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
        ls.diagnostics.note(params.text_document.uri, params.range, params.context.diagnostics)
        prompts = can_prompt(ls.client_capabilities)
        return code_actions(ls.store, ls.tasks, params, ls.encoding, ls.trees, prompts)

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: AgentServer, params: None) -> None:
        # Let running tasks restore their text and answer their requests first:
        # pygls cancels whatever request is still open, and that must be nothing.
        ls.tasks.cancel()
        runners = [t.runner for t in ls.tasks.tasks.values() if t.runner is not None]
        if runners:
            await asyncio.wait(runners, timeout=ls.settings.edits.apply_timeout)
        await ls.close_model()
        for _ in range(3):
            await asyncio.sleep(0)

    commands.register(server)
    return server
