"""A fake editor on the client side of pytest-lsp: it behaves like a real one.

It keeps each document as a ``pygls.workspace.TextDocument`` (an oracle independent
of the server's own position code), checks the version of every edit, applies
edits with UTF-16 positions, bumps the version and sends ``didChange`` — at once
or after a delay, like Neovim's debounce or eglot's idle timer. Its stale-edit
policy imitates each real client:
  - "strict": refuse with a JSON-RPC error (eglot),
  - "skip": skip the edit but answer applied=true (Neovim 0.7),
  - "apply": apply at the given positions anyway (Neovim 0.7 with version 0).
Faults: ``refuse`` is asked about each operation of an edit (a TextDocumentEdit, a
CreateFile, a DeleteFile) before it is applied, and answers "error" (refuse with a
JSON-RPC error), "false" (answer applied=false) or None (apply it); the operations
before a refused one stay applied, as in an editor without transactional edits.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lsprotocol import types
from lsprotocol.converters import get_converter
from pygls.exceptions import JsonRpcInternalError
from pygls.uris import to_fs_path as from_fs_path
from pygls.workspace import TextDocument
from pytest_lsp import ClientServerConfig, LanguageClient
from pytest_lsp.client import register_lsp_features

StalePolicy = Literal["strict", "skip", "apply"]
Refusal = Literal["error", "false"]


@dataclass
class AppliedEdit:
    time: float
    uri: str
    version: int | None
    edits: list[types.TextEdit]
    outcome: str  # "applied", "refused", "skipped"


@dataclass
class FakeEditor:
    client: LanguageClient
    stale: StalePolicy = "strict"
    change_delay: float = 0.0  # seconds between applying an edit and sending didChange
    version_step: int = 1
    hold: bool = False  # keep didChange back (eglot while a command request is open)
    docs: dict[str, TextDocument] = field(default_factory=dict)
    log: list[AppliedEdit] = field(default_factory=list)
    resource_log: list[Any] = field(default_factory=list)  # CreateFile, DeleteFile seen
    opened_by_edit: list[str] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)  # titles for window/showMessageRequest
    asked: list[str] = field(default_factory=list)  # the messages of those requests
    refuse: Callable[[Any], Refusal | None] | None = None  # see the module doc
    refused: list[Any] = field(default_factory=list)  # the operations refused
    _pending: dict[str, list[types.TextDocumentContentChangePartial]] = field(default_factory=dict)
    _flush: dict[str, asyncio.TimerHandle] = field(default_factory=dict)

    def __post_init__(self) -> None:
        def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            return self._apply_edit(params)

        self.client.feature(types.WORKSPACE_APPLY_EDIT)(apply_edit)

        def message_request(params: types.ShowMessageRequestParams) -> Any:
            """Answer with the next of ``answers`` (none left: the user closes it)."""
            self.asked.append(params.message)
            if not self.answers:
                return None
            return types.MessageActionItem(title=self.answers.pop(0))

        self.client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)(message_request)

    # -- what the user does ---------------------------------------------------------
    def open(self, uri: str, text: str, language_id: str = "python", version: int = 0) -> None:
        self.docs[uri] = TextDocument(uri, text, version=version, language_id=language_id)
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id=language_id, version=version, text=text
                )
            )
        )

    def close(self, uri: str) -> None:
        """The user closes the document (unsaved changes discarded)."""
        del self.docs[uri]
        self.client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )

    def text(self, uri: str) -> str:
        return self.docs[uri].source

    def version(self, uri: str) -> int:
        version = self.docs[uri].version
        assert version is not None
        return version

    def type(
        self, uri: str, line: int, character: int, text: str, end: tuple[int, int] | None = None
    ) -> None:
        """The user types ``text`` at (line, character) (UTF-16), replacing up to ``end``."""
        end_line, end_char = end if end else (line, character)
        change = types.TextDocumentContentChangePartial(
            range=types.Range(
                start=types.Position(line=line, character=character),
                end=types.Position(line=end_line, character=end_char),
            ),
            text=text,
        )
        self._change(uri, [change])

    def position_of(self, uri: str, needle: str, after: bool = False) -> types.Position:
        source = self.docs[uri].source
        at = source.index(needle) + (len(needle) if after else 0)
        return _utf16_position(source, at)

    # -- what the editor does with the server's edits -------------------------------
    def _change(self, uri: str, changes: list[types.TextDocumentContentChangePartial]) -> None:
        doc = self.docs[uri]
        for change in changes:
            doc.apply_change(change)
        doc.version = (doc.version or 0) + self.version_step
        self._pending.setdefault(uri, []).extend(changes)
        if self.hold:
            return
        if self.change_delay <= 0:
            self._send_changes(uri)
        elif uri not in self._flush:
            loop = asyncio.get_running_loop()
            self._flush[uri] = loop.call_later(self.change_delay, self._send_changes, uri)

    def release(self) -> None:
        """Stop holding didChange back and send what was held."""
        self.hold = False
        for uri in list(self._pending):
            self._send_changes(uri)

    def _send_changes(self, uri: str) -> None:
        self._flush.pop(uri, None)
        changes = self._pending.pop(uri, [])
        if not changes:
            return
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=uri, version=self.version(uri)
                ),
                content_changes=list(changes),
            )
        )

    def _resource(
        self, op: types.CreateFile | types.DeleteFile | types.RenameFile
    ) -> types.ApplyWorkspaceEditResult | None:
        """Like VS Code: CreateFile makes an empty file, DeleteFile removes the file and
        closes its document."""
        self.resource_log.append(op)
        if isinstance(op, types.RenameFile):
            return types.ApplyWorkspaceEditResult(applied=False, failure_reason="no renames")
        path = Path(from_fs_path(op.uri))
        if isinstance(op, types.CreateFile):
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("")
            return None
        if op.uri in self.docs:
            del self.docs[op.uri]
            self.client.text_document_did_close(
                types.DidCloseTextDocumentParams(
                    text_document=types.TextDocumentIdentifier(uri=op.uri)
                )
            )
        path.unlink(missing_ok=True)
        return None

    def _load(self, uri: str) -> None:
        """An edit of a document that is not open: open it from disk (VS Code opens a
        model for it and sends didOpen; the edit leaves it unsaved)."""
        text = Path(from_fs_path(uri)).read_text()
        self.opened_by_edit.append(uri)
        self.open(uri, text)

    def _apply_edit(self, params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        edit = params.edit
        for doc_edit in edit.document_changes or []:
            refusal = self.refuse(doc_edit) if self.refuse is not None else None
            if refusal is not None:
                self.refused.append(doc_edit)
                if refusal == "error":
                    raise JsonRpcInternalError("the editor refused the edit (scripted)")
                return types.ApplyWorkspaceEditResult(
                    applied=False, failure_reason="refused (scripted)"
                )
            if not isinstance(doc_edit, types.TextDocumentEdit):
                refused = self._resource(doc_edit)
                if refused is not None:
                    return refused
                continue
            uri = doc_edit.text_document.uri
            if uri not in self.docs:
                self._load(uri)
            version = doc_edit.text_document.version
            edits = [e for e in doc_edit.edits if isinstance(e, types.TextEdit)]
            current = self.version(uri)
            if version is not None and version != current:
                if self.stale == "strict":
                    self.log.append(
                        AppliedEdit(time.perf_counter(), uri, version, edits, "refused")
                    )
                    raise JsonRpcInternalError(
                        f"Edits on {uri} require version {version}, you have {current}"
                    )
                if self.stale == "skip":
                    self.log.append(
                        AppliedEdit(time.perf_counter(), uri, version, edits, "skipped")
                    )
                    continue
            self.log.append(AppliedEdit(time.perf_counter(), uri, version, edits, "applied"))
            self._change(uri, _sequential(edits))
        for uri, edits in (edit.changes or {}).items():
            self.log.append(AppliedEdit(time.perf_counter(), uri, None, list(edits), "applied"))
            self._change(uri, _sequential(list(edits)))
        return types.ApplyWorkspaceEditResult(applied=True)


def _sequential(edits: list[types.TextEdit]) -> list[types.TextDocumentContentChangePartial]:
    """LSP edits all refer to the original text: apply them last first."""
    ordered = sorted(
        edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True
    )
    return [types.TextDocumentContentChangePartial(range=e.range, text=e.new_text) for e in ordered]


def _utf16_position(text: str, at: int) -> types.Position:
    line = text.count("\n", 0, at)
    start = text.rfind("\n", 0, at) + 1
    return types.Position(line=line, character=len(text[start:at].encode("utf-16-le")) // 2)


def make_client() -> LanguageClient:
    """A pytest-lsp client whose converter keeps CodeAction kind and arguments."""

    def converter_factory() -> Any:
        converter = get_converter()

        def code_action(obj: Any, _: type) -> types.Command | types.CodeAction:
            if isinstance(obj.get("command"), str):
                return converter.structure(obj, types.Command)
            return converter.structure(obj, types.CodeAction)

        converter.register_structure_hook(types.Command | types.CodeAction, code_action)
        from typing import Union

        converter.register_structure_hook(
            Union[types.Command, types.CodeAction],  # noqa: UP007
            code_action,
        )
        return converter

    client = LanguageClient(converter_factory=converter_factory)
    register_lsp_features(client)
    return client


def server_config(env: dict[str, str] | None = None) -> ClientServerConfig:
    return ClientServerConfig(
        server_command=[sys.executable, "-m", "agentls"],
        client_factory=make_client,
        server_env=env,
    )
