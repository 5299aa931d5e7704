"""Did an edit we sent land? Told by the changes the editor reported, not by a diff.

After an edit is sent the editor reports changes: ours (if it applied it) and the
user's typing, in the order they happened. Comparing texts alone cannot always tell
them apart: a character diff of ``"(a, b):\\n    return"`` against
``"(a, b):  # agent\\nturn"`` may align the inserted spaces with the deleted
indentation, and then "our insertion is in there" looks false and the edit is sent
twice. The reported changes are exact, so we look for ours among them: each of our
changes is followed through the changes before it; a reported change with the same
effect on the text at that moment is ours.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from agentls.edits.positions import move_range, same_effect
from agentls.edits.text import TextChange


@dataclass(slots=True)
class _Pending:
    start: int
    end: int
    new_text: str
    touched: bool = False
    found: bool = False


def trace(
    base: str, ours: Iterable[TextChange], reported: Iterable[TextChange]
) -> tuple[bool | None, list[tuple[int, int]]]:
    """``found``'s verdict and, when it is True, where each of our changes' new text is
    after all of ``reported`` (a change that only meets its edge stays outside)."""
    pending = [_Pending(c.start, c.end, c.new_text) for c in ours]
    if not pending:
        return True, []
    text = base
    for change in reported:
        match = next(
            (
                p
                for p in pending
                if not p.found and same_effect(text, p.start, p.end, p.new_text, change)
            ),
            None,
        )
        for p in pending:
            if p is match:  # from now on: where our new text is
                p.found, p.start = True, change.start
                p.end = change.start + len(change.new_text)
            elif p.found:
                p.start, p.end, _ = move_range(p.start, p.end, change, edges=False)
            elif match is not None:  # our edits are disjoint: the others only shift
                if p.start >= change.end:
                    p.start, p.end = p.start + change.delta, p.end + change.delta
                elif p.end > change.start:
                    p.touched = True
            else:
                p.start, p.end, touched = move_range(p.start, p.end, change)
                p.touched = p.touched or touched
        text = "".join((text[: change.start], change.new_text, text[change.end :]))
    hits = sum(p.found for p in pending)
    if hits == len(pending):
        return True, [(p.start, p.end) for p in pending]
    if hits == 0 and not any(p.touched for p in pending):
        return False, []
    return None, []


def found(base: str, ours: Iterable[TextChange], reported: Iterable[TextChange]) -> bool | None:
    """Whether ``ours`` (changes of ``base``, as sent) is among ``reported`` (every change
    the editor reported since ``base``, in order): True, False, or None when the user's
    changes reached into ours and nobody can tell (or only part of ours is there)."""
    return trace(base, ours, reported)[0]
