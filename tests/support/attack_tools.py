"""Tools for the edit attacks (tests/lsp/test_edit_attacks*.py): send a request without
waiting, put several messages into one write (the server then reads them in one go),
type from inside the editor's applyEdit handler, and wait for a condition."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.support.fake_editor import FakeEditor

Phase = Literal["before", "after"]


def send_command(
    client: LanguageClient, name: str, arguments: dict[str, Any]
) -> asyncio.Future[Any]:
    """Send ``workspace/executeCommand`` now (written before this returns); await the
    answer later."""
    params = types.ExecuteCommandParams(command=name, arguments=[arguments])
    sent = client.protocol.send_request(types.WORKSPACE_EXECUTE_COMMAND, params)
    return asyncio.wrap_future(sent)


def send_run(client: LanguageClient, arguments: dict[str, Any]) -> asyncio.Future[Any]:
    return send_command(client, "agentls.run", arguments)


class _Collector:
    def __init__(self) -> None:
        self.data: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.data.append(data)


@contextmanager
def one_write(client: LanguageClient) -> Iterator[None]:
    """Everything the client sends inside this block goes to the server in one write:
    the server reads and handles those messages back to back, before any task it
    starts for them runs (like an editor's keystrokes that arrive with a command)."""
    protocol = client.protocol
    real = protocol.writer
    collector = _Collector()
    protocol.writer = collector  # type: ignore[assignment]
    try:
        yield
    finally:
        protocol.writer = real
        assert real is not None
        real.write(b"".join(collector.data))


async def until(check: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.005)


def applied(editor: FakeEditor) -> int:
    return len([e for e in editor.log if e.outcome == "applied"])


@dataclass
class AttackEditor(FakeEditor):
    """A fake editor that lets the test act inside its applyEdit handler: ``hook`` is
    called with (editor, params, phase) before the edit is applied and after (before
    the answer goes back): the user's keystroke lands exactly while an edit is in
    flight."""

    hook: Callable[[AttackEditor, types.ApplyWorkspaceEditParams, Phase], None] | None = None
    edits_seen: list[types.ApplyWorkspaceEditParams] = field(default_factory=list)
    sent_versions: dict[str, set[int]] = field(default_factory=dict)  # didOpen/didChange
    unseen_versions: list[tuple[str, int]] = field(default_factory=list)  # edits naming others

    def open(self, uri: str, text: str, language_id: str = "python", version: int = 0) -> None:
        self.sent_versions.setdefault(uri, set()).add(version)
        super().open(uri, text, language_id, version)

    def _send_changes(self, uri: str) -> None:
        if self._pending.get(uri):
            self.sent_versions.setdefault(uri, set()).add(self.version(uri))
        super()._send_changes(uri)

    def _apply_edit(self, params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        self.edits_seen.append(params)
        for change in params.edit.document_changes or []:
            if isinstance(change, types.TextDocumentEdit):
                uri, version = change.text_document.uri, change.text_document.version
                if version is not None and version not in self.sent_versions.get(uri, set()):
                    self.unseen_versions.append((uri, version))
        if self.hook is not None:
            self.hook(self, params, "before")
        result = super()._apply_edit(params)
        if self.hook is not None:
            self.hook(self, params, "after")
        return result


def type_at(editor: FakeEditor, uri: str, needle: str, text: str, after: bool = False) -> None:
    """Type ``text`` where ``needle`` starts (or ends) in the editor's text now."""
    at = editor.position_of(uri, needle, after=after)
    editor.type(uri, at.line, at.character, text)


def replace_text(editor: FakeEditor, uri: str, old: str, new: str) -> None:
    """The user selects ``old`` (its first occurrence) and types ``new`` over it."""
    start = editor.position_of(uri, old)
    end = editor.position_of(uri, old, after=True)
    editor.type(uri, start.line, start.character, new, end=(end.line, end.character))


def fenced(code: str) -> str:
    return "```python\n" + code + "```\n"
