"""Three-way merge of whole lines: put one side's change on top of the other's.

Used where the agent and the user both changed a text since a common base: undo
(base = what the agent wrote, ours = the original, theirs = the text now, with the
user's typing) and an agent edit of a buffer the user typed in meanwhile (base = the
text the tool read, ours = the tool's result, theirs = the buffer now).

Each side's change is a list of hunks (``difflib.SequenceMatcher`` over lines).
Hunks of the two sides that do not overlap both apply. Overlapping hunks conflict,
except: the same change on both sides applies once; and lines the user inserted
strictly inside a hunk of ours are kept, placed right after that hunk's new lines
(reported as ``moved``), so that no line the user typed is lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from difflib import SequenceMatcher

from agentls.edits.text import split_lines


@dataclass(frozen=True)
class Hunk:
    start: int  # base lines [start, end) become ``lines``
    end: int
    lines: tuple[str, ...]
    ours: bool


@dataclass
class Merged:
    text: str
    conflicts: list[tuple[int, int]] = field(default_factory=list)  # 1-based, in theirs
    moved: list[int] = field(default_factory=list)  # 1-based lines of ``text``

    @property
    def clean(self) -> bool:
        return not self.conflicts


def _hunks(base: list[str], other: list[str], ours: bool) -> list[Hunk]:
    matcher = SequenceMatcher(None, base, other, autojunk=False)
    return [
        Hunk(i1, i2, tuple(other[j1:j2]), ours)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def _overlap(a: Hunk, b: Hunk) -> bool:
    if a.start == a.end and b.start == b.end:
        return a.start == b.start
    if a.start == a.end:
        return b.start < a.start < b.end
    if b.start == b.end:
        return a.start < b.start < a.end
    return max(a.start, b.start) < min(a.end, b.end)


def _clusters(hunks: list[Hunk]) -> list[list[Hunk]]:
    clusters: list[list[Hunk]] = []
    for hunk in sorted(hunks, key=lambda h: (h.start, h.end, not h.ours)):
        if clusters and any(_overlap(hunk, other) for other in clusters[-1]):
            clusters[-1].append(hunk)
        else:
            clusters.append([hunk])
    return clusters


def _same(a: Hunk, b: Hunk) -> bool:
    return (a.start, a.end, a.lines) == (b.start, b.end, b.lines)


def _apply(out: list[str], base: list[str], start: int, end: int, hunks: list[Hunk]) -> None:
    """Base lines ``[start, end)`` with ``hunks`` (of one side) applied, onto ``out``."""
    pos = start
    for hunk in sorted(hunks, key=lambda h: (h.start, h.end)):
        out.extend(base[pos : hunk.start])
        out.extend(hunk.lines)
        pos = hunk.end
    out.extend(base[pos:end])


REFINE_LINES = 40  # a conflict of at most this many lines is looked at by characters


def _by_characters(
    base: list[str], mine: list[Hunk], users: list[Hunk], offset: int
) -> list[str] | None:
    """The lines ``base`` (which start at line ``offset``) merged character by character,
    or None where the two sides change the same characters."""
    if len(base) > REFINE_LINES:
        return None
    shifted = [Hunk(h.start - offset, h.end - offset, h.lines, h.ours) for h in mine + users]
    ours: list[str] = []
    theirs: list[str] = []
    _apply(ours, base, 0, len(base), [h for h in shifted if h.ours])
    _apply(theirs, base, 0, len(base), [h for h in shifted if not h.ours])
    merged = _merge(list("".join(base)), list("".join(ours)), list("".join(theirs)), False)
    if not merged.clean:
        return None
    return split_lines(merged.text)


def merge3(base: str, ours: str, theirs: str) -> Merged:
    """``theirs`` with ``ours``' changes (relative to ``base``) applied on top, by lines."""
    return _merge(
        split_lines(base),
        split_lines(ours),
        split_lines(theirs),
    )


def _merge(
    base_lines: list[str], ours: list[str], theirs: list[str], by_lines: bool = True
) -> Merged:
    """The merge over items: lines (``by_lines``: a conflict is looked at again by
    characters, and inserted lines may move) or characters."""
    hunks = _hunks(base_lines, ours, True)
    hunks += _hunks(base_lines, theirs, False)
    out: list[str] = []
    merged = Merged("")
    at = 0  # next base line not yet copied
    theirs_shift = 0  # theirs' line number minus base's, before ``at``
    for cluster in _clusters(hunks):
        start = min(h.start for h in cluster)
        end = max(h.end for h in cluster)
        out.extend(base_lines[at:start])
        mine = [h for h in cluster if h.ours]
        users = [h for h in cluster if not h.ours]
        theirs_start = start + theirs_shift
        for hunk in users:
            theirs_shift += len(hunk.lines) - (hunk.end - hunk.start)
        if not users or not mine:
            _apply(out, base_lines, start, end, cluster)
        elif len(mine) == len(users) == 1 and _same(mine[0], users[0]):
            out.extend(mine[0].lines)  # the same change on both sides
        elif by_lines and (finer := _by_characters(base_lines[start:end], mine, users, start)):
            out.extend(finer)  # both changed these lines, at different characters
        elif (
            by_lines
            and len(mine) == 1
            and all(h.start == h.end and mine[0].start < h.start < mine[0].end for h in users)
        ):
            out.extend(mine[0].lines)
            for hunk in users:  # the user's inserted lines, after the restored hunk
                merged.moved.extend(range(len(out) + 1, len(out) + 1 + len(hunk.lines)))
                out.extend(hunk.lines)
        else:  # keep the user's text; report where
            theirs_lines = sum(len(h.lines) - (h.end - h.start) for h in users) + end - start
            merged.conflicts.append((theirs_start + 1, theirs_start + max(theirs_lines, 1)))
            _apply(out, base_lines, start, end, users)
        at = end
    out.extend(base_lines[at:])
    merged.text = "".join(out)
    return merged


def landed(base: str, ours: str, theirs: str) -> bool | None:
    """Whether ``theirs`` (``base`` changed by others too) already holds ``ours``' change:
    True, False, or None when their changes touch ours and nobody can tell. Compared
    character by character, so that typing next to the change does not hide it."""
    if theirs == ours:
        return True
    if theirs == base:
        return False
    head = _common_head(base, ours, theirs)
    tail = _common_tail(base[head:], ours[head:], theirs[head:])
    cut = slice(head, None if tail == 0 else -tail)
    merged = _merge(list(base[cut]), list(ours[cut]), list(theirs[cut]), by_lines=False)
    if not merged.clean or merged.moved:
        return None
    return merged.text == theirs[cut]


def _common_head(*texts: str) -> int:
    n = min(len(t) for t in texts)
    i = 0
    while i < n and texts[0][i] == texts[1][i] == texts[2][i]:
        i += 1
    return i


def _common_tail(*texts: str) -> int:
    n = min(len(t) for t in texts)
    i = 0
    while i < n and texts[0][-1 - i] == texts[1][-1 - i] == texts[2][-1 - i]:
        i += 1
    return i
