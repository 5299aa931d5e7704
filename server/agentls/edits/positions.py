"""Positions that stay true while the user types: one rule, two forms.

An offset means something only in the text it was computed on. Every position the
server keeps across an ``await`` is therefore one of:

- a ``Span``: frozen, stamped with the document and the change number (``seq``) of
  the text it was computed on. Its offsets can only be read together with a snapshot
  of that very change number (``Span.offsets(snapshot)`` raises ``StalePosition``
  otherwise); ``DocumentStore.rebase`` maps it through every change the editor has
  reported since. Use it for what is computed once and used later (a request's
  range, a planned region, a tool's target).
- an ``Anchor``: live, moved by every change as it is applied. Use it for a region a
  task keeps writing into (and undoing) for a long time.

Both move by ``move_range``, the one rule: a change before the range shifts it, a
change after it leaves it, a change that reaches into it marks it ``touched`` and
widens it to cover what the change wrote. The edges differ: a change that only meets
a span's edge stays outside it (a line typed or pasted right above a function is not
part of the function; text typed at the cursor of an empty span does not become a
selection), while an anchor takes it in (the task's own edits add lines at its
region's edges, and those must stay inside).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from agentls.edits.text import TextChange

if TYPE_CHECKING:
    from agentls.edits.documents import Snapshot


class StalePosition(Exception):
    """A position was read against a text it was not computed on (a bug in the caller),
    or can no longer be mapped to the current text (the document was reopened, or its
    history since is gone)."""


def move_range(
    start: int, end: int, change: TextChange, edges: bool = True
) -> tuple[int, int, bool]:
    """Where ``[start, end)`` is after ``change``; True when the change touched it.
    ``edges``: a change that only meets an edge (an insertion there, or a replacement that
    ends where the range starts) goes inside; else it stays outside."""
    if change.end < start or (not edges and change.end <= start):
        return start + change.delta, end + change.delta, False
    if change.start > end or (not edges and change.start >= end):
        return start, end, False
    return min(start, change.start), max(end, change.end) + change.delta, True


@dataclass(frozen=True, slots=True)
class Span:
    """``[start, end)`` in the text of ``uri`` at change number ``seq``."""

    uri: str
    seq: int
    _start: int
    _end: int
    touched: bool = False  # a change since it was computed reached into it

    def offsets(self, snapshot: Snapshot) -> tuple[int, int]:
        """The offsets, for the text they were computed on and no other."""
        if snapshot.uri != self.uri or snapshot.seq != self.seq:
            raise StalePosition(
                f"a position of {self.uri}@{self.seq} read against {snapshot.uri}@{snapshot.seq}"
            )
        return self._start, self._end

    def text(self, snapshot: Snapshot) -> str:
        start, end = self.offsets(snapshot)
        return snapshot.text[start:end]

    def moved(self, seq: int, changes: Iterable[TextChange]) -> Span:
        """This span after ``changes`` (in order), which lead to change number ``seq``."""
        start, end, touched = self._start, self._end, self.touched
        for change in changes:
            start, end, hit = move_range(start, end, change, edges=False)
            touched = touched or hit
        return replace(self, seq=seq, _start=start, _end=end, touched=touched)


def span_of(snapshot: Snapshot, start: int, end: int) -> Span:
    """A span of ``snapshot``'s text (offsets clamped to it)."""
    size = len(snapshot.text)
    start = min(max(start, 0), size)
    return Span(snapshot.uri, snapshot.seq, start, min(max(end, start), size))


@dataclass(eq=False)
class Anchor:
    """A live region ``[start, end)`` of a document, moved by every change as it is
    applied (the document store does that); ``touched`` once a change reached into it."""

    start: int
    end: int
    touched: bool = False
    lost: bool = False  # the document was closed or reopened: the offsets mean nothing now

    def move(self, change: TextChange) -> None:
        self.start, self.end, hit = move_range(self.start, self.end, change)
        self.touched = self.touched or hit

    def reset(self, start: int, end: int) -> None:
        self.start, self.end, self.touched = start, end, False
