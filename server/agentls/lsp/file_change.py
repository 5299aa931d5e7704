"""What the task changed in one file, and the text an undo of it puts back.

Each step of an open buffer keeps where its text went (``edits/placed.py``), so the undo
takes out exactly the agent's pieces, whatever the user typed next to them; where that
cannot be told (the document was reopened, its history is gone, the task's own edits
meet), the steps are taken out by merging texts, newest first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agentls.edits.diff import minimal_changes
from agentls.edits.documents import DocumentClosed, DocumentStore, EditorError
from agentls.edits.merge import merge3
from agentls.edits.placed import Placed, undone
from agentls.edits.positions import StalePosition
from agentls.edits.text import TextChange, apply_changes


@dataclass
class FileChange:
    before: str | None  # None: the task created the file
    after: str | None  # None: the task deleted it
    edited_at: float = 0.0
    deleted_on_disk: bool = False  # a delete_file removed it from the disk at some point
    disk_before: str | None = None  # the disk's text then (an open buffer may differ)
    # Each text change the task made, (text before, text after), in order: undo reverts
    # them one by one onto the text now, keeping what the user typed in between.
    steps: list[tuple[str, str]] = field(default_factory=list)
    # Where each step's text went in the open buffer (None: not known), for an undo by
    # position (``edits/placed.py``) that cannot take the user's typing with it.
    placed: list[Placed | None] = field(default_factory=list)
    # Why undo cannot tell what to put back (an edit that may have landed misplaced)
    unsure: str | None = None


def undo_target(
    store: DocumentStore, relative: str, uri: str | None, change: FileChange, now: str | None
) -> tuple[str | None, list[TextChange] | None]:
    """The file's text (``now``; ``uri`` when open) with the task's changes taken out and
    the user's kept, and the undo's exact changes of ``now`` when known. Raises
    ``EditorError`` naming the lines where both changed the same text."""
    if change.unsure is not None:
        raise EditorError(f"{change.unsure}; nothing was undone there (revert it by hand)")
    # The steps are the file's history from ``before`` (not when the task created or
    # deleted it on the way): else only the text it left can be undone.
    history = (
        bool(change.steps) and change.steps[0][0] == change.before and not change.deleted_on_disk
    )
    if now == change.after and (not history or change.after is None):
        return change.before, None
    if not history or change.before is None or change.after is None or now is None:
        raise EditorError(
            f"{relative} changed since the task (created or deleted by it); nothing was "
            "undone (undo your own edits first, or revert by hand)"
        )
    placed = [p for p in change.placed if p is not None]
    if uri is not None and len(placed) == len(change.steps):
        try:  # by position: exact, whatever the user typed next to the task's text
            return undone(store, uri, placed, relative)
        except (StalePosition, DocumentClosed):
            pass  # reopened, its history is gone, or the edits meet: compare the texts
    text = now
    for before, after in reversed(change.steps):
        merged = merge3(after, before, text)
        if merged.conflicts:
            lines = ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in merged.conflicts)
            raise EditorError(
                f"{relative}: line {lines} was written by the task and edited since; "
                "nothing was undone (undo your own edits there first, or revert by hand)"
            )
        text = merged.text
    return text, None


def changes_to(now: str, target: str, pieces: list[TextChange] | None) -> list[TextChange]:
    """The changes that make ``now`` into ``target``: ``pieces`` when they do, else a
    diff of the texts."""
    if pieces is not None and apply_changes(now, pieces) == target:
        return pieces
    return minimal_changes(now, target)
