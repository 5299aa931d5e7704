"""Open documents as the editor has them: text, version, and positions that follow edits.

The store is fed by the LSP layer (didOpen / didChange / didClose) or, headless, by
``MemoryEditor``. Unsaved text is the truth. Every change is applied in order and
kept in a bounded history, so that a ``Span`` computed on an older text can be mapped
to the current one (``rebase``); each ``Anchor`` (a region a task is writing or has
written) is moved as changes are applied. Both follow ``positions.move_range``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from agentls.edits.diff import minimal_changes
from agentls.edits.positions import Anchor, Span, StalePosition, span_of
from agentls.edits.text import LineIndex, TextChange

log = logging.getLogger(__name__)


class EditorError(Exception):
    """The editor did not take an edit (closed document, timeout, refusal)."""


class DocumentClosed(EditorError):
    pass


HISTORY = 4096  # didChange batches kept per document for ``rebase``


@dataclass(eq=False)
class Snapshot:
    """One version of one document. ``seq`` counts changes seen by the server."""

    uri: str
    version: int
    text: str
    seq: int
    language_id: str = ""
    _index: LineIndex | None = field(default=None, repr=False)

    @property
    def index(self) -> LineIndex:
        """Line starts, derived from the previous snapshot's when it had them."""
        if self._index is None:
            self._index = LineIndex(self.text)
        return self._index

    def span(self, start: int, end: int) -> Span:
        """``[start, end)`` of this text, stamped with its change number."""
        return span_of(self, start, end)


class DocumentListener(Protocol):
    """Told of every open, change and close of a ``DocumentStore``, in order (on the
    thread that feeds the store: the event loop). Must be quick; must not raise."""

    def opened(self, snapshot: Snapshot) -> None: ...

    def changed(self, before: Snapshot, after: Snapshot, changes: Sequence[TextChange]) -> None:
        """``changes`` turn ``before.text`` into ``after.text``, applied in order (each
        against the text the previous one left)."""
        ...

    def closed(self, uri: str) -> None: ...


@dataclass(eq=False)
class Document:
    snapshot: Snapshot
    anchors: list[Anchor] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    first: Snapshot | None = None  # as opened
    # (seq after, the changes that made it), oldest first; see ``DocumentStore.rebase``.
    history: deque[tuple[int, list[TextChange]]] = field(
        default_factory=lambda: deque(maxlen=HISTORY)
    )

    def apply(self, version: int, changes: list[TextChange | str]) -> list[TextChange]:
        """Apply one didChange: changes in order; a ``str`` replaces the whole text.
        Returns the changes as applied, in order (a full replacement as the minimal
        steps that make it, back to front)."""
        old = self.snapshot
        text, index = old.text, old._index
        applied: list[TextChange] = []
        for change in changes:
            if isinstance(change, str):
                # A full replacement: move anchors by what really changed.
                steps = minimal_changes(text, change)
                for step in reversed(steps):  # back to front keeps offsets valid
                    self._move_anchors(step)
                    applied.append(step)
                text, index = change, None
                continue
            self._move_anchors(change)
            applied.append(change)
            text = "".join((text[: change.start], change.new_text, text[change.end :]))
            if index is not None:  # O(lines after the change), not a split of the text
                index = index.changed(change, text)
        self.snapshot = Snapshot(old.uri, version, text, old.seq + 1, old.language_id, index)
        self.history.append((self.snapshot.seq, applied))
        self.changed.set()
        self.changed = asyncio.Event()
        return applied

    def _move_anchors(self, change: TextChange) -> None:
        for anchor in self.anchors:
            anchor.move(change)


class DocumentStore:
    def __init__(self) -> None:
        self._docs: dict[str, Document] = {}
        self.listeners: list[DocumentListener] = []  # e.g. the syntax trees

    def _tell(self, event: str, *args: object) -> None:
        for listener in self.listeners:
            try:
                getattr(listener, event)(*args)
            except Exception:  # a listener's bug must not lose the editor's text
                log.exception("document listener %r failed on %s", listener, event)

    def open(self, uri: str, version: int, text: str, language_id: str = "") -> None:
        old = self._docs.get(uri)
        snapshot = Snapshot(uri, version, text, old.snapshot.seq + 1 if old else 0, language_id)
        doc = Document(snapshot, first=snapshot)
        if old is not None:  # reopened: whatever was anchored there is stale
            for anchor in old.anchors:
                anchor.touched = anchor.lost = True
            old.changed.set()
        self._docs[uri] = doc
        self._tell("opened", doc.snapshot)

    def change(self, uri: str, version: int, changes: list[TextChange | str]) -> None:
        doc = self._docs.get(uri)
        if doc is None:
            return
        before = doc.snapshot
        applied = doc.apply(version, changes)
        self._tell("changed", before, doc.snapshot, applied)

    def close(self, uri: str) -> None:
        doc = self._docs.pop(uri, None)
        if doc is not None:
            for anchor in doc.anchors:
                anchor.touched = anchor.lost = True
            doc.changed.set()
            self._tell("closed", uri)

    def get(self, uri: str) -> Snapshot | None:
        doc = self._docs.get(uri)
        return doc.snapshot if doc else None

    def uris(self) -> list[str]:
        return list(self._docs)

    def snapshot(self, uri: str) -> Snapshot:
        doc = self._docs.get(uri)
        if doc is None:
            raise DocumentClosed(f"{uri} is not open in the editor")
        return doc.snapshot

    def rebase(self, span: Span) -> Span:
        """``span`` mapped through every change since it was computed, to the current
        text. Raises ``DocumentClosed``, or ``StalePosition`` when the document was
        reopened or its history no longer reaches back that far."""
        doc = self._docs.get(span.uri)
        if doc is None:
            raise DocumentClosed(f"{span.uri} is not open in the editor")
        now = doc.snapshot.seq
        if span.seq == now:
            return span
        history = doc.history
        first = history[0][0] if history else now + 1
        if span.seq > now or span.seq < first - 1:
            raise StalePosition(f"{span.uri}: no history from change {span.seq} to {now}")
        steps = (change for seq, batch in history if seq > span.seq for change in batch)
        return span.moved(now, steps)

    def opened(self, uri: str) -> Snapshot | None:
        """The document as the editor opened it, while its history still reaches back to
        then (None: not open, or too many changes since)."""
        doc = self._docs.get(uri)
        if doc is None or doc.first is None:
            return None
        if self.changes_since(uri, doc.first.seq) is None:
            return None
        return doc.first

    def changes_since(self, uri: str, seq: int) -> list[TextChange] | None:
        """Every change the editor reported since change number ``seq``, in order; None
        when the document is closed, was reopened, or its history no longer reaches back."""
        doc = self._docs.get(uri)
        if doc is None:
            return None
        now, history = doc.snapshot.seq, doc.history
        first = history[0][0] if history else now + 1
        if seq > now or seq < first - 1:
            return None
        return [change for at, batch in history if at > seq for change in batch]

    def anchor(self, span: Span) -> Anchor:
        """A live anchor at ``span``, mapped to the current text first."""
        doc = self._docs.get(span.uri)
        if doc is None:
            raise DocumentClosed(f"{span.uri} is not open in the editor")
        now = self.rebase(span)
        start, end = now.offsets(doc.snapshot)
        anchor = Anchor(start, end, now.touched)
        doc.anchors.append(anchor)
        return anchor

    def release(self, uri: str, anchor: Anchor) -> None:
        doc = self._docs.get(uri)
        if doc is not None and anchor in doc.anchors:
            doc.anchors.remove(anchor)

    async def wait_for_change(self, uri: str, seq: int, timeout: float) -> Snapshot:
        """Wait until the document has changed since change number ``seq``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            doc = self._docs.get(uri)
            if doc is None:
                raise DocumentClosed(f"{uri} was closed in the editor")
            if doc.snapshot.seq != seq:
                return doc.snapshot
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise EditorError(f"the editor did not report the edit within {timeout:g} s")
            try:
                await asyncio.wait_for(doc.changed.wait(), remaining)
            except TimeoutError:
                continue
