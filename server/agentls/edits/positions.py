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
widens it to cover what the change wrote; a change that only meets an edge stays
outside (a line typed or pasted right above a function is not part of the function;
text typed at the cursor of an empty span does not become a selection; a line another
task writes at the end of the function above is that task's).

Which text is whose decides the one exception: the task's own edits add lines at its
region's edges, and those belong inside. ``follow`` tells them apart by the changes the
editor reported since an edit was sent: a reported change with the same effect as one
of ours is ours (taken in at an edge), every other one is the user's (or another
task's), moved by the rule above.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Protocol

from agentls.edits.text import TextChange


class Snapshot(Protocol):
    """The text of ``uri`` at change number ``seq`` (``documents.Snapshot``)."""

    @property
    def uri(self) -> str: ...

    @property
    def seq(self) -> int: ...

    @property
    def text(self) -> str: ...


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

    def followed(
        self, seq: int, changes: Iterable[TextChange], written: str
    ) -> tuple[Span, list[tuple[str, bool]]]:
        """This span after ``changes`` (which lead to change number ``seq``), with each
        character it then holds marked True when it is of ``written`` (the text the span
        held at its own change number) and False when a change wrote it since."""
        start, end, touched = self._start, self._end, self.touched
        marked = [(char, True) for char in written]
        for change in changes:  # move_range's rule with edges=False, character by character
            if change.end <= start:
                start, end = start + change.delta, end + change.delta
                continue
            if change.start >= end:
                continue
            head = marked[: max(change.start - start, 0)]
            tail = marked[len(marked) - (end - change.end) :] if change.end < end else []
            marked = [*head, *((char, False) for char in change.new_text), *tail]
            start, end = min(start, change.start), max(end, change.end) + change.delta
            touched = True
        return replace(self, seq=seq, _start=start, _end=end, touched=touched), marked

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
    applied (the document store does that); ``touched`` once a change reached into it.
    The changes its owner has in flight (``ours``, set before sending them) are taken
    in as they come back, even at an edge, when the editor reports them as sent; its
    owner puts the rest right with ``follow`` once the editor has reported its edit."""

    start: int
    end: int
    touched: bool = False
    lost: bool = False  # the document was closed or reopened: the offsets mean nothing now
    ours: list[TextChange] = field(default_factory=list)  # in flight, as they apply now

    def move(self, change: TextChange) -> None:
        mine = change in self.ours
        if mine:
            self.ours.remove(change)
        self.start, self.end, hit = move_range(self.start, self.end, change, edges=mine)
        self.touched = self.touched or (hit and not mine)
        self.ours = [_shifted(c, change, mine) for c in self.ours]

    def reset(self, start: int, end: int) -> None:
        self.start, self.end, self.touched = start, end, False


def _shifted(ours: TextChange, change: TextChange, mine: bool) -> TextChange:
    """One of our changes in flight, after ``change`` (another of ours: they are disjoint)."""
    if mine:
        if ours.start < change.end:
            return ours
        return TextChange(ours.start + change.delta, ours.end + change.delta, ours.new_text)
    start, end, _ = move_range(ours.start, ours.end, change, edges=False)
    return TextChange(start, end, ours.new_text)


@dataclass(slots=True)
class _Ours:
    start: int
    end: int
    new_text: str
    found: bool = False


@dataclass(frozen=True, slots=True)
class Followed:
    """A region after the changes an editor reported since one of our edits was sent."""

    start: int
    end: int
    touched: bool  # a change not ours reached into the region
    found: int  # how many of our changes were among the reported ones
    sent: int  # how many we sent
    crossed: bool  # a change not ours reached into one of ours not (yet) found

    @property
    def landed(self) -> bool | None:
        """All of our edit is there (True), none of it and nothing crossed it (False),
        or nobody can tell (None)."""
        if self.found == self.sent:
            return True
        return False if self.found == 0 and not self.crossed else None


def same_effect(text: str, start: int, end: int, new_text: str, reported: TextChange) -> bool:
    """Whether replacing ``text[start:end]`` by ``new_text`` and the ``reported`` change
    make the same text (an editor may report an insertion next to where it was asked,
    where the text repeats): how an edit of ours is told among the reported changes."""
    if end - start - len(new_text) != -reported.delta:
        return False
    lo, hi = min(start, reported.start), max(end, reported.end)
    mine = text[lo:start] + new_text + text[end:hi]
    theirs = text[lo : reported.start] + reported.new_text + text[reported.end : hi]
    return mine == theirs


def follow(
    text: str, start: int, end: int, ours: list[TextChange], reported: list[TextChange]
) -> Followed:
    """Where ``[start, end)`` of ``text`` is after ``reported`` (every change the editor
    reported since ``text``, in order), ``ours`` being the changes of ``text`` we sent
    (inside the region): each reported change with the same effect as one of ours is
    ours and is taken in even at an edge; any other change moves the region by
    ``move_range``'s rule (an edge stays outside)."""
    pending = [_Ours(c.start, c.end, c.new_text) for c in ours]
    touched = crossed = False
    for change in reported:
        mine = next(
            (
                p
                for p in pending
                if not p.found and same_effect(text, p.start, p.end, p.new_text, change)
            ),
            None,
        )
        if mine is not None:  # apply it where we asked (the same text results)
            change = TextChange(mine.start, mine.end, mine.new_text)
            start, end, _ = move_range(start, end, change, edges=True)
            for p in pending:  # our changes are disjoint: the others only shift
                if p is not mine and p.start >= change.end:
                    p.start, p.end = p.start + change.delta, p.end + change.delta
            mine.found, mine.end = True, mine.start + len(mine.new_text)
        else:
            start, end, hit = move_range(start, end, change, edges=False)
            touched = touched or hit
            for p in pending:
                if p.found:
                    p.start, p.end, _ = move_range(p.start, p.end, change, edges=False)
                else:
                    p.start, p.end, hit = move_range(p.start, p.end, change, edges=True)
                    crossed = crossed or hit
        text = "".join((text[: change.start], change.new_text, text[change.end :]))
    found = sum(p.found for p in pending)
    return Followed(start, end, touched, found, len(pending), crossed)
