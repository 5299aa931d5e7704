"""The seam between the agent core and whatever holds the documents.

The LSP layer fills it with ``workspace/applyEdit``; ``MemoryEditor`` fills it in
memory for headless runs and tests. Both keep documents in a ``DocumentStore``.
"""

from __future__ import annotations

from typing import Protocol

from agentls.edits.documents import DocumentStore, Snapshot
from agentls.edits.text import TextChange, apply_changes


class Editor(Protocol):
    store: DocumentStore

    async def apply(self, snapshot: Snapshot, changes: list[TextChange], label: str) -> None:
        """Send ``changes`` (against ``snapshot``) and return once the document has
        changed since ``snapshot`` (by this edit or anything else). Raises
        ``EditorError`` when nothing changes in time or the document is gone."""
        ...


class MemoryEditor:
    """Applies edits directly to the store: for ``agentls exec`` and tests."""

    def __init__(self, store: DocumentStore | None = None) -> None:
        self.store = store or DocumentStore()
        self.applied: list[tuple[int, list[TextChange]]] = []

    async def apply(self, snapshot: Snapshot, changes: list[TextChange], label: str) -> None:
        current = self.store.snapshot(snapshot.uri)
        if current.seq != snapshot.seq:
            return  # stale: refused, like a strict editor; the caller re-reads
        self.applied.append((snapshot.version, changes))
        # Send back to front so each change is valid against the text it meets.
        ordered = sorted(changes, key=lambda c: c.start, reverse=True)
        self.store.change(snapshot.uri, snapshot.version + 1, list(ordered))
        assert self.store.snapshot(snapshot.uri).text == apply_changes(snapshot.text, changes)
