"""The editor seam filled with ``workspace/applyEdit``.

Every edit is a ``TextDocumentEdit`` with the version the server last saw. After
sending it we wait for the client's ``didChange`` (any new change) before the
caller computes the next edit: Neovim answers ``applied=true`` even for an edit it
skipped, and eglot refuses stale edits with an error, so the answer itself is
only a hint. A refusal with no change following within a short while is an error.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from lsprotocol import types

from agentls.edits.documents import DocumentStore, EditorError, Snapshot
from agentls.edits.text import Encoding, TextChange
from agentls.lsp.convert import text_edits

if TYPE_CHECKING:
    from agentls.lsp.agent_server import AgentServer

log = logging.getLogger(__name__)

REFUSAL_GRACE = 2.0  # seconds to wait for the user's pending didChange after a refusal


class LspEditor:
    def __init__(self, server: AgentServer, store: DocumentStore) -> None:
        self.server = server
        self.store = store

    @property
    def encoding(self) -> Encoding:
        return self.server.encoding

    def _edit(self, snapshot: Snapshot, changes: list[TextChange]) -> types.WorkspaceEdit:
        edits: list[types.TextEdit | types.AnnotatedTextEdit | types.SnippetTextEdit]
        edits = list(text_edits(snapshot, changes, self.encoding))
        if not self.server.supports_document_changes:
            return types.WorkspaceEdit(
                changes={snapshot.uri: list(text_edits(snapshot, changes, self.encoding))}
            )
        document = types.OptionalVersionedTextDocumentIdentifier(
            uri=snapshot.uri, version=snapshot.version
        )
        return types.WorkspaceEdit(
            document_changes=[types.TextDocumentEdit(text_document=document, edits=edits)]
        )

    async def apply(self, snapshot: Snapshot, changes: list[TextChange], label: str) -> None:
        params = types.ApplyWorkspaceEditParams(edit=self._edit(snapshot, changes), label=label)
        refusal: str | None = None
        try:
            result = await self.server.workspace_apply_edit_async(params)
            if result is not None and not result.applied:
                refusal = result.failure_reason or "applied=false"
        except Exception as error:  # eglot answers a stale edit with a JSON-RPC error
            refusal = str(error) or type(error).__name__
        timeout = self.server.settings.edits.apply_timeout
        if refusal is not None:
            log.info("edit refused by the client: %s", refusal)
            timeout = min(timeout, REFUSAL_GRACE)
        try:
            await self.store.wait_for_change(snapshot.uri, snapshot.seq, timeout)
        except EditorError:
            if refusal is not None:
                raise EditorError(f"the editor refused the edit: {refusal}") from None
            raise
