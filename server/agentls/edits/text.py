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
    """Lines of one text, split once (at C speed) and reused for every conversion."""

    __slots__ = ("_lines", "_starts", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts: list[int] | None = None
        if "\r" in text and text.count("\r") != text.count("\r\n"):
            # Lone carriage returns end lines too (LSP): keep exact line starts.
            self._starts = [0, *(m.end() for m in _NEWLINE.finditer(text))]
            self._lines = [
                text[s:e].rstrip("\r\n")
                for s, e in zip(self._starts, [*self._starts[1:], len(text)], strict=True)
            ]
        else:
            self._lines = text.split("\n")

    @property
    def line_count(self) -> int:
        return len(self._lines)

    def line_start(self, line: int) -> int:
        if self._starts is not None:
            return self._starts[line]
        return sum(map(len, self._lines[:line])) + line

    def line_text(self, line: int) -> str:
        """The line without its line ending."""
        return self._lines[line].rstrip("\r")

    def line_of(self, offset: int) -> int:
        if self._starts is not None:
            return bisect_right(self._starts, offset) - 1
        return self.text.count("\n", 0, offset)

    def offset(self, pos: Position, encoding: Encoding = "utf-16") -> int:
        """Offset of an LSP position; positions past a line's end or the text clamp."""
        if pos.line < 0:
            return 0
        if pos.line >= len(self._lines):
            return len(self.text)
        line = self.line_text(pos.line)
        start = self.line_start(pos.line)
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
        start = self.line_start(line)
        prefix = self.text[start:offset]
        if encoding == "utf-32" or prefix.isascii():
            return Position(line, len(prefix))
        return Position(line, sum(_units(ch, encoding) for ch in prefix))


def line_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen ``[start, end)`` to whole lines, including the last line's ending."""
    line_start = text.rfind("\n", 0, start) + 1
    if end > start and text[end - 1 : end] == "\n":
        return line_start, end
    nl = text.find("\n", end)
    return line_start, (len(text) if nl == -1 else nl + 1)
