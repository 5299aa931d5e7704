"""The editor seam filled with ``workspace/applyEdit``.

Every edit is a versioned ``TextDocumentEdit`` (``documentChanges``), whatever the
client announces: Neovim 0.7 and eglot 1.9 announce no ``documentChanges`` yet apply
them and check the version, and without a version an edit computed before the user's
last keystrokes would land on shifted text. After sending an edit we wait for the
client's ``didChange`` (any new change) before the caller computes the next one:
Neovim answers ``applied=true`` even for an edit it skipped, and eglot refuses stale
edits with an error, so the answer itself is only a hint.

A client that blocks while its ``executeCommand`` request is open (eglot sends
didChange from an idle timer) never reports the edit until the command returns; when
an applied edit stays unreported for ``STALL_AFTER`` seconds the listeners registered
for that document are told, so the command can answer early and unblock it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from lsprotocol import types

from agentls.config import Settings
from agentls.edits.documents import DocumentStore, EditorError, Snapshot
from agentls.edits.text import Encoding, TextChange, apply_changes
from agentls.lsp.convert import text_edits

log = logging.getLogger(__name__)

REFUSAL_GRACE = 2.0  # seconds to wait for the user's pending didChange after a refusal
REPORT_GRACE = 0.2  # seconds to wait for the rest of an edit reported in parts
STALL_AFTER = 1.5  # seconds without didChange after an applied edit: the client may be blocked
ANY = ""  # ``on_stall(ANY, ...)``: told of a stall of any document


async def settled(store: DocumentStore, after: Snapshot, expected: str) -> Snapshot:
    """The document once the editor has reported all of an edit: an editor may report one
    edit in several didChange (Neovim without debounce sends one per changed range), so
    a text that is not yet ``expected`` waits a moment for the rest."""
    while after.text != expected:
        try:
            after = await store.wait_for_change(after.uri, after.seq, REPORT_GRACE)
        except EditorError:
            break  # no more: the user typed, or the edit was not applied
    return after


class EditClient(Protocol):
    """What the editor seam needs of the server: positions' encoding, the settings (for
    ``edits.applyTimeout``) and ``workspace/applyEdit``."""

    settings: Settings

    @property
    def encoding(self) -> Encoding: ...

    async def apply_edit(
        self, params: types.ApplyWorkspaceEditParams
    ) -> types.ApplyWorkspaceEditResult | None: ...


class LspEditor:
    def __init__(self, server: EditClient, store: DocumentStore) -> None:
        self.server = server
        self.store = store
        self.stall_listeners: dict[str, list[Callable[[], object]]] = {}

    @property
    def encoding(self) -> Encoding:
        return self.server.encoding

    def on_stall(self, uri: str, callback: Callable[[], object]) -> Callable[[], None]:
        """Call ``callback`` when an applied edit of ``uri`` stays unreported; returns a
        function that removes it."""
        self.stall_listeners.setdefault(uri, []).append(callback)

        def remove() -> None:
            listeners = self.stall_listeners.get(uri, [])
            if callback in listeners:
                listeners.remove(callback)

        return remove

    def _edit(self, snapshot: Snapshot, changes: list[TextChange]) -> types.WorkspaceEdit:
        edits: list[types.TextEdit | types.AnnotatedTextEdit | types.SnippetTextEdit]
        edits = list(text_edits(snapshot, changes, self.encoding))
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
            result = await self.server.apply_edit(params)
            if result is not None and not result.applied:
                refusal = result.failure_reason or "applied=false"
        except Exception as error:  # eglot answers a stale edit with a JSON-RPC error
            refusal = str(error) or type(error).__name__
        timeout = self.server.settings.edits.apply_timeout
        if refusal is not None:
            log.info("edit refused by the client: %s", refusal)
            timeout = min(timeout, REFUSAL_GRACE)
        elif timeout > STALL_AFTER:
            try:
                after = await self.store.wait_for_change(snapshot.uri, snapshot.seq, STALL_AFTER)
                await settled(self.store, after, apply_changes(snapshot.text, changes))
                return
            except EditorError:
                if self.store.get(snapshot.uri) is None:
                    raise
                log.info("no didChange %.1f s after an applied edit", STALL_AFTER)
                listeners = self.stall_listeners.get(snapshot.uri, [])
                for callback in [*listeners, *self.stall_listeners.get(ANY, [])]:
                    callback()
                timeout -= STALL_AFTER
        try:
            after = await self.store.wait_for_change(snapshot.uri, snapshot.seq, timeout)
        except EditorError:
            if refusal is not None:
                raise EditorError(f"the editor refused the edit: {refusal}") from None
            raise
        if refusal is None:
            await settled(self.store, after, apply_changes(snapshot.text, changes))
