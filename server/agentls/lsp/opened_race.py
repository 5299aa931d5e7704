"""An edit of a file no buffer had open, racing the user who opens it.

An edit of a file that is not open carries no version (there is none to name), so the
editor applies it at its offsets to whatever text it has. When the user opens that
file and types while the edit is on its way, the edit lands at offsets of the text
without their typing: a line off, inside other code. The server sees it all afterwards
(didOpen, the user's didChange, the edit's didChange), so it checks: was the edit
applied where it belongs, or at its old offsets on the user's newer text? In the second
case it puts the user's text back with the edit where it belongs, by a versioned edit.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Protocol

from lsprotocol import types

from agentls.edits.diff import minimal_changes
from agentls.edits.documents import EditorError, Snapshot
from agentls.edits.landed import found
from agentls.edits.merge import merge3
from agentls.edits.positions import move_range
from agentls.edits.text import Encoding, LineIndex, TextChange, apply_changes
from agentls.lsp.convert import offset, text_edits
from agentls.tools.workspace import ToolDenied

if TYPE_CHECKING:
    from agentls.lsp.server import AgentServer


class LspEditSink(Protocol):
    """What the race needs of ``edit_sink.LspEditSink``: the server, and its repair."""

    @property
    def server(self) -> AgentServer: ...

    async def put_right(self, relative: str, uri: str, now: str, target: str) -> None: ...


REPORT_WAIT = 0.5  # seconds between looks at what the editor reported


def _stale_at(
    texts: list[str], edits: list[types.TextEdit], encoding: Encoding
) -> tuple[int, int] | None:
    """(j, m) when the texts went from ``texts[j]`` to ``texts[m]`` by ``edits`` applied
    at their positions (line, character) as if nothing had been typed."""
    for j, text in enumerate(texts):
        index = LineIndex(text)
        last = index.line_count - 1
        if any(e.range.end.line > last for e in edits):
            continue
        changes = [
            TextChange(
                offset(index, e.range.start, encoding),
                offset(index, e.range.end, encoding),
                e.new_text,
            )
            for e in edits
        ]
        applied = apply_changes(text, changes)
        for m in range(j + 1, min(j + len(edits), len(texts) - 1) + 1):
            if texts[m] == applied:
                return j, m
    return None


async def opened_meanwhile(
    sink: LspEditSink, relative: str, uri: str, base: str, new: str
) -> tuple[str, str] | None:
    """After an unversioned edit ``base`` -> ``new`` of ``relative``: None when the file
    is still not open, or the edit is in its place; else the step the task made, as
    (the buffer's text before it, after it), once the edit has been put where it belongs.
    Raises ``ToolDenied`` saying what to check when that cannot be done or told."""
    store = sink.server.store
    if store.get(uri) is None:
        return None
    changes = minimal_changes(base, new)
    edits = text_edits(Snapshot(uri, 0, base, -1), changes, sink.server.encoding)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + sink.server.settings.edits.apply_timeout
    unsure = ToolDenied(
        f"{relative}: opened in the editor while this edit was sent; it may have landed "
        "in the wrong place: read the file again and check it"
    )
    while True:
        first = store.opened(uri)
        now = store.get(uri)
        if first is None or now is None or first.text != base:
            raise unsure
        reported = store.changes_since(uri, first.seq) or []
        if found(base, changes, reported):
            return None  # where it belongs
        texts = [first.text]
        for change in reported:
            texts.append(apply_changes(texts[-1], [change]))
        stale = _stale_at(texts, edits, sink.server.encoding)
        if stale is not None:
            break
        try:  # not reported yet
            await store.wait_for_change(uri, now.seq, min(REPORT_WAIT, deadline - loop.time()))
        except EditorError:
            if loop.time() >= deadline:
                raise unsure from None
    j, m = stale
    now_text = texts[-1]
    if m != len(texts) - 1:  # typed after it too: take the misplaced edit out where it is
        if m != j + 1:
            raise unsure
        misplaced = reported[j]
        start, end = misplaced.start, misplaced.start + len(misplaced.new_text)
        for change in reported[m:]:
            start, end, hit = move_range(start, end, change, edges=False)
            if hit:  # the user typed into the misplaced text itself
                raise unsure
        before = now_text[:start] + texts[j][misplaced.start : misplaced.end] + now_text[end:]
    else:
        before = texts[j]
    merged = merge3(base, new, before)  # the edit on the text with the user's typing
    if merged.conflicts:
        raise unsure
    await sink.put_right(relative, uri, now_text, merged.text)
    return before, merged.text
