"""Positions, offsets and text changes.

Offsets are indices into a Python ``str`` (code points). Editors speak LSP positions
(line, character) where ``character`` counts UTF-16 code units by default; the
conversion lives here so that nothing else has to think about it.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Literal

Encoding = Literal["utf-16", "utf-8", "utf-32"]

_NEWLINE = re.compile(r"\r\n|\r|\n")
_LF = re.compile("\n")
_LONE_CR = re.compile("\r(?!\n)")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


@dataclass(frozen=True, slots=True)
class Position:
    """A zero-based (line, character) position in the editor's encoding units."""

    line: int
    character: int


@dataclass(frozen=True, slots=True)
class TextChange:
    """Replace ``text[start:end]`` with ``new_text`` (offsets in code points)."""

    start: int
    end: int
    new_text: str

    @property
    def delta(self) -> int:
        return len(self.new_text) - (self.end - self.start)


def apply_changes(text: str, changes: list[TextChange]) -> str:
    """Apply changes given against the same text; they must not overlap."""
    out: list[str] = []
    pos = 0
    for change in sorted(changes, key=lambda c: (c.start, c.end)):
        if change.start < pos:
            raise ValueError("overlapping changes")
        out.append(text[pos : change.start])
        out.append(change.new_text)
        pos = change.end
    out.append(text[pos:])
    return "".join(out)


def _units(ch: str, encoding: Encoding) -> int:
    if encoding == "utf-32":
        return 1
    if encoding == "utf-8":
        return len(ch.encode("utf-8"))
    return 2 if ord(ch) > 0xFFFF else 1


class LineIndex:
    """Line starts of one text, for O(log n) conversions between offsets and positions.

    Built once per document (one regex pass at C speed); after that each change derives
    the next text's index from the previous one (``changed``): the starts before the
    change are shared, the ones after it shifted, so a streamed edit costs a list
    shift, not a split of the whole file. Lines end at ``\n``; a lone ``\r`` ends a
    line too (LSP), handled by rebuilding (rare: old Mac files).
    """

    __slots__ = ("_lone_cr", "_starts", "text")

    def __init__(self, text: str, _starts: list[int] | None = None) -> None:
        self.text = text
        self._lone_cr = False
        if _starts is not None:
            self._starts = _starts
        elif "\r" in text and _LONE_CR.search(text):
            # Lone carriage returns end lines too (LSP): keep exact line starts.
            self._lone_cr = True
            self._starts = [0, *(m.end() for m in _NEWLINE.finditer(text))]
        else:
            self._starts = [0, *(m.end() for m in _LF.finditer(text))]

    def changed(self, change: TextChange, text: str) -> LineIndex:
        """The index of ``text``, the text this index's text becomes by ``change``."""
        start, new = change.start, change.new_text
        if (
            self._lone_cr
            or "\r" in new
            or (text[start - 1 : start] == "\r" and text[start : start + 1] != "\n")
        ):
            return LineIndex(text)  # a lone CR may have come or gone: start over
        starts = self._starts
        lo = bisect_right(starts, start)  # starts[lo:hi] were inside the replaced text
        hi = bisect_right(starts, change.end, lo)
        added = []
        at = new.find("\n")
        while at != -1:
            added.append(start + at + 1)
            at = new.find("\n", at + 1)
        delta = change.delta
        tail = starts[hi:] if delta == 0 else [s + delta for s in starts[hi:]]
        return LineIndex(text, [*starts[:lo], *added, *tail])

    @property
    def line_count(self) -> int:
        return len(self._starts)

    def line_start(self, line: int) -> int:
        return self._starts[line]

    def line_text(self, line: int) -> str:
        """The line without its line ending."""
        starts = self._starts
        start = starts[line]
        if line + 1 < len(starts):
            end = starts[line + 1] - 1  # the \n, or a lone \r
            if end > start and self.text[end - 1] == "\r" and self.text[end] == "\n":
                end -= 1
            return self.text[start:end]
        return self.text[start:]

    def line_of(self, offset: int) -> int:
        return bisect_right(self._starts, offset) - 1

    def offset(self, pos: Position, encoding: Encoding = "utf-16") -> int:
        """Offset of an LSP position; positions past a line's end or the text clamp."""
        if pos.line < 0:
            return 0
        if pos.line >= len(self._starts):
            return len(self.text)
        line = self.line_text(pos.line)
        start = self._starts[pos.line]
        char = max(pos.character, 0)
        if encoding == "utf-32" or line.isascii():
            return start + min(char, len(line))
        units = 0
        for i, ch in enumerate(line):
            if units >= char:
                return start + i
            units += _units(ch, encoding)
        return start + len(line)

    def position(self, offset: int, encoding: Encoding = "utf-16") -> Position:
        offset = min(max(offset, 0), len(self.text))
        line = self.line_of(offset)
        start = self._starts[line]
        prefix = self.text[start:offset]
        if encoding == "utf-32" or prefix.isascii():
            return Position(line, len(prefix))
        return Position(line, sum(_units(ch, encoding) for ch in prefix))


def line_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen ``[start, end)`` to whole lines, including the last line's ending. Lines end
    at ``\n``, ``\r\n`` or a lone ``\r`` (LSP)."""
    line_start = max(text.rfind("\n", 0, start), text.rfind("\r", 0, start)) + 1
    if end > start and text[end - 1 : end] in ("\n", "\r"):
        return line_start, line_end_after(text, end - 1)
    found = _NEWLINE.search(text, end)
    return line_start, (len(text) if found is None else found.end())


def line_end_after(text: str, at: int) -> int:
    """Where the line break starting at ``text[at]`` ends (a CR takes its LF along)."""
    if text[at : at + 2] == "\r\n":
        return at + 2
    return at + 1


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` with their endings (``\n``, ``\r\n`` or a lone ``\r``, as
    LSP counts them; unlike ``str.splitlines``, no other character ends a line)."""
    return _LINE.findall(text)


def line_break(text: str) -> str:
    """The line break ``text`` uses: that of its first line, else ``\n``."""
    found = _NEWLINE.search(text)
    return found.group() if found else "\n"
