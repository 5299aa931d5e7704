"""Turn "old text -> new text" into a few small ``TextChange``s.

Common prefix and suffix are trimmed first (cheap, and the usual case while
streaming: only the last lines differ); what is left is diffed line by line
with ``difflib.SequenceMatcher`` and each replaced block is trimmed again, so
that unchanged characters are never rewritten and the editor's cursor and marks
outside the real change stay put.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from agentls.edits.text import TextChange


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n
    while lo < hi:  # binary search on slices: C-speed comparisons
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _common_suffix(a: str, b: str, limit: int) -> int:
    n = min(len(a), len(b), limit)
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[len(a) - mid :] == b[len(b) - mid :]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _trimmed(old: str, new: str, offset: int) -> TextChange | None:
    if old == new:
        return None
    p = _common_prefix(old, new)
    s = _common_suffix(old, new, min(len(old), len(new)) - p)
    return TextChange(offset + p, offset + len(old) - s, new[p : len(new) - s])


# difflib's line matching grows with the square of the lines between the first and the
# last difference (40 s for 10,000 lines with every other one changed, on the event
# loop): above this, a cheaper diff that still never rewrites an unchanged line when
# the line count stays the same.
DIFF_LINES = 2000


def _coarse(old_lines: list[str], new_lines: list[str], offset: int) -> list[TextChange]:
    """Line by line when both sides have as many lines, else one change of the block."""
    if len(old_lines) != len(new_lines):
        change = _trimmed("".join(old_lines), "".join(new_lines), offset)
        return [change] if change else []
    changes, at = [], offset
    for old, new in zip(old_lines, new_lines, strict=True):
        change = _trimmed(old, new, at)
        if change:
            changes.append(change)
        at += len(old)
    return changes


def minimal_changes(old: str, new: str, offset: int = 0) -> list[TextChange]:
    """Changes that turn ``old`` into ``new``; offsets are shifted by ``offset``."""
    if old == new:
        return []
    p = _common_prefix(old, new)
    s = _common_suffix(old, new, min(len(old), len(new)) - p)
    # Diff whole lines: back up to the start of the line holding the first difference.
    p = old.rfind("\n", 0, p) + 1
    old_mid, new_mid = old[p : len(old) - s], new[p : len(new) - s]
    old_lines = old_mid.splitlines(keepends=True)
    new_lines = new_mid.splitlines(keepends=True)
    if len(old_lines) <= 1 or len(new_lines) <= 1:
        change = _trimmed(old_mid, new_mid, offset + p)
        return [change] if change else []
    if max(len(old_lines), len(new_lines)) > DIFF_LINES:
        return _coarse(old_lines, new_lines, offset + p)
    changes: list[TextChange] = []
    old_pos = [0]
    for line in old_lines:
        old_pos.append(old_pos[-1] + len(line))
    matcher = SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        change = _trimmed(
            "".join(old_lines[i1:i2]), "".join(new_lines[j1:j2]), offset + p + old_pos[i1]
        )
        if change:
            changes.append(change)
    return changes
