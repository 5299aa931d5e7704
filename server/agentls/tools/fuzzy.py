"""The fuzzy layer's arithmetic, bounded by construction (``matching._fuzzy`` uses it).

difflib compares characters in quadratic time, and a file of repeated lines makes
every window of it look alike: comparing a quote with every window of a big file took
minutes. So the work is bounded in three ways:

- which windows are compared at all is decided cheaply: for a quote of three lines
  or more, a window must hold some of its lines exactly (``anchor_counts``: line
  anchors, counted for every window in one pass), the most first; a shorter quote's
  windows are few lines each and are ranked by ``quick_bound`` (lengths, then
  characters as multisets);
- ``similarity``: a window is compared line by line (difflib over lines: a quote of
  more than ``matching.FUZZY_LINES`` lines is not matched loosely), and only lines
  that differ are compared by character, pair by pair, each cut to ``LINE_CHARS``,
  until the deadline;
- at most ``matching.FUZZY_WINDOWS`` windows are compared, the best ranked first,
  before a deadline; when windows left uncompared could still match about as well,
  the answer is "quote it exactly", never a guess. (A quote whose every line has a
  typo shares no line with the file: it is not matched loosely.)
"""

from __future__ import annotations

import difflib
import time
from collections import Counter

LINE_CHARS = 200  # a line compared by character is cut to this many characters
FUZZY_FLOOR = 0.85  # windows whose length alone keeps them below this are not looked at


def anchor_counts(want: list[str], lines: list[str], size: int) -> list[int]:
    """For each window of ``size`` lines (by first line), how many of its non-blank lines
    are, stripped, lines of the quote (each quote line counted as often as it occurs).
    One pass over the file: the count is kept up to date as the window slides."""
    need = Counter(line.strip() for line in want if line.strip())
    keys = [line.strip() if line.strip() in need else None for line in lines]
    have: Counter[str] = Counter()
    count = 0

    def move(key: str | None, sign: int) -> None:
        nonlocal count
        if key is None:
            return
        before = have[key]
        have[key] = before + sign
        count += min(need[key], before + sign) - min(need[key], before)

    for i in range(min(size, len(lines))):
        move(keys[i], 1)
    out = [count]
    for first in range(1, max(1, len(lines) - size + 1)):
        move(keys[first - 1], -1)
        if first + size - 1 < len(lines):
            move(keys[first + size - 1], 1)
        out.append(count)
    return out


def quick_bound(target: str, window: str, chars: Counter[str] | None = None) -> float:
    """The best ratio ``window`` could reach against ``target``: their lengths, then
    the characters they share as multisets (``SequenceMatcher.quick_ratio``).
    ``chars``: ``Counter(target)``, when the caller has it."""
    total = len(target) + len(window)
    if not total:
        return 1.0
    if 2.0 * min(len(target), len(window)) / total < FUZZY_FLOOR:
        return 0.0
    have = Counter(window)
    shared = sum(min(n, have[char]) for char, n in (chars or Counter(target)).items())
    return 2.0 * shared / total


def _shared_chars(a: str, b: str) -> int:
    a, b = a[:LINE_CHARS], b[:LINE_CHARS]
    blocks = difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()
    return sum(block.size for block in blocks)


def similarity(quoted: list[str], window: list[str], deadline: float) -> float | None:
    """How alike two runs of (normalized) lines are, 0..1, as ``SequenceMatcher.ratio``
    of their texts would roughly say: equal lines count whole, lines replaced by others
    count the characters they share, pair by pair. None when ``deadline`` passed before
    every pair was compared (the window is then not judged at all)."""
    total = sum(len(line) + 1 for line in quoted) + sum(len(line) + 1 for line in window) - 2
    if total <= 0:
        return 1.0
    matcher = difflib.SequenceMatcher(None, quoted, window, autojunk=False)
    shared = 0
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            shared += sum(len(line) + 1 for line in quoted[i1:i2])
        elif op == "replace":
            for k in range(min(i2 - i1, j2 - j1)):
                if time.monotonic() > deadline:
                    return None
                shared += _shared_chars(quoted[i1 + k], window[j1 + k])
    return min(1.0, 2.0 * shared / total)
