"""Undo by position: each agent edit of an open buffer remembers where its text went.

An edit that was found among the changes the editor reported (``edits/landed.py``)
knows exactly where its new text is: a ``Span`` of that text, stamped with its change
number. To undo it, the span is mapped through everything reported since (the user's
typing next to it stays outside it: see ``positions.move_range``) and what it covers
now is put back to what the edit replaced. Only when the user changed text inside the
span are the two merged, on that small piece alone. Undoing by comparing whole texts
instead has to guess which characters are the agent's; next to the user's typing it
can guess wrong and take the user's characters with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from agentls.edits.documents import DocumentStore, EditorError, Snapshot
from agentls.edits.merge import merge3
from agentls.edits.positions import Span, StalePosition, move_range
from agentls.edits.text import TextChange, apply_changes


@dataclass(frozen=True, slots=True)
class Placed:
    """One edit's pieces: where each new text is, and the text it replaced."""

    spans: tuple[Span, ...]
    olds: tuple[str, ...]
    news: tuple[str, ...]


def placed_at(
    uri: str, seq: int, where: Sequence[tuple[int, int]], olds: Sequence[str], news: Sequence[str]
) -> Placed:
    return Placed(tuple(Span(uri, seq, s, e) for s, e in where), tuple(olds), tuple(news))


def undone(
    store: DocumentStore, uri: str, steps: Sequence[Placed], name: str
) -> tuple[str, list[TextChange] | None]:
    """The document's text now with ``steps`` (oldest first) undone, newest first, and
    everything else kept; and, when the pieces do not overlap, the undo as changes of the
    text now (to send exactly those, not a diff of the texts). Raises ``StalePosition``
    when a span cannot be mapped to the text now or the task's own edits meet (the caller
    then falls back to comparing texts), and ``EditorError`` when the user changed the
    agent's text so that it cannot be put back."""
    snapshot = store.snapshot(uri)
    text = snapshot.text
    done: list[TextChange] = []  # the undo's own changes so far, in order
    at_snapshot: list[TextChange] = []  # the same, as changes of the snapshot's text
    for step in reversed(steps):
        pieces = []
        for span, old, new in zip(step.spans, step.olds, step.news, strict=True):
            first, last, marked = _now(store, span, new, snapshot)
            start, end = first, last
            for change in done:
                if move_range(start, end, change)[2]:
                    # a later edit of the task met this one's text (the agent edited its
                    # own lines): positions cannot say which text is whose there
                    raise StalePosition(f"{name}: the task's edits meet; undo by text")
                start, end, _ = move_range(start, end, change, edges=False)
            pieces.append((start, end, old, new, first, last, marked))
        changes = []
        for start, end, old, _new, first, last, marked in sorted(pieces, reverse=True):
            if text[start:end] != "".join(char for char, _ in marked):
                raise StalePosition(f"{name}: the task's edits meet; undo by text")
            old = _put_back(marked, old, new, text.count("\n", 0, start) + 1, name)
            change = TextChange(start, end, old)
            text = apply_changes(text, [change])
            changes.append(change)
            at_snapshot.append(TextChange(first, last, old))
        done.extend(changes)
    return text, _disjoint(snapshot.text, at_snapshot, text)


def _now(
    store: DocumentStore, span: Span, new: str, snapshot: Snapshot
) -> tuple[int, int, list[tuple[str, bool]]]:
    """Where ``span`` (which held ``new``) is in ``snapshot``, each character there marked
    True when it is still the agent's and False when the user wrote it since."""
    changes = store.changes_since(span.uri, span.seq)
    if changes is None:
        raise StalePosition(f"{span.uri}: no history from change {span.seq}")
    now, marked = span.followed(snapshot.seq, changes, new)
    start, end = now.offsets(snapshot)
    if "".join(char for char, _ in marked) != snapshot.text[start:end]:
        raise StalePosition(f"{span.uri}: the agent's text could not be followed")
    return start, end, marked


def _put_back(marked: list[tuple[str, bool]], old: str, new: str, line: int, name: str) -> str:
    """What the piece becomes: ``old`` when all that is left there is the agent's (the user
    may have deleted some of it: putting back what it replaced loses nothing of theirs);
    else the merge of the agent's change out of it, if that keeps every character the user
    wrote there. Raises ``EditorError`` otherwise."""
    users = "".join(char for char, ours in marked if not ours)
    if not users:
        return old
    merged = merge3(new, old, "".join(char for char, _ in marked))
    rest = iter(merged.text)
    if merged.conflicts or not all(char in rest for char in users):
        raise EditorError(
            f"{name}: line {line} was written by the task and edited since; nothing was "
            "undone (undo your own edits there first, or revert by hand)"
        )
    return merged.text


def _disjoint(before: str, changes: list[TextChange], after: str) -> list[TextChange] | None:
    """``changes`` as one edit of ``before`` when they do not overlap and make ``after``."""
    ordered = sorted(changes, key=lambda c: (c.start, c.end))
    for a, b in pairwise(ordered):
        if b.start < a.end or (b.start == a.end == a.start == b.end):
            return None
    kept = [c for c in ordered if before[c.start : c.end] != c.new_text]
    if apply_changes(before, kept) != after:
        return None
    return kept
