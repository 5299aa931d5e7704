"""lsprotocol <-> core values, at the edge.

``offset`` and ``lsp_position`` are the one way between an LSP position (line,
character in the client's encoding: UTF-16 by default, ``encoding_of``) and an offset
into the text; every handler goes through them (the counting itself is
``edits.text.LineIndex``).
"""

from __future__ import annotations

from typing import Protocol

from lsprotocol import types

from agentls.edits.documents import Snapshot
from agentls.edits.text import Encoding, LineIndex, Position, TextChange


class LineCharacter(Protocol):
    """Any position value: ``types.Position``, a command's argument, ``edits.text.Position``."""

    @property
    def line(self) -> int: ...

    @property
    def character(self) -> int: ...


def _index(of: Snapshot | LineIndex) -> LineIndex:
    return of.index if isinstance(of, Snapshot) else of


def offset(of: Snapshot | LineIndex, pos: LineCharacter, encoding: Encoding) -> int:
    """The offset (code points) of ``pos`` in the text; past a line's end or the text clamps."""
    return _index(of).offset(Position(pos.line, pos.character), encoding)


def lsp_position(of: Snapshot | LineIndex, at: int, encoding: Encoding) -> types.Position:
    """The LSP position of the offset ``at``, in ``encoding``'s units."""
    pos = _index(of).position(at, encoding)
    return types.Position(line=pos.line, character=pos.character)


def lsp_range(snapshot: Snapshot, start: int, end: int, encoding: Encoding) -> types.Range:
    return types.Range(
        start=lsp_position(snapshot, start, encoding), end=lsp_position(snapshot, end, encoding)
    )


def addressable(text: str, change: TextChange) -> TextChange:
    """``change``, widened so that neither end falls between the ``\r`` and the ``\n``
    of a line break: no LSP position names that point (an editor would put it before
    the ``\r``), so the edit would land one character off."""
    start, end, new = change.start, change.end, change.new_text
    if 0 < start < len(text) and text[start - 1] == "\r" and text[start] == "\n":
        start, new = start - 1, "\r" + new
    if 0 < end < len(text) and text[end - 1] == "\r" and text[end] == "\n":
        end, new = end + 1, new + "\n"
    return TextChange(start, max(start, end), new)


def text_edits(
    snapshot: Snapshot, changes: list[TextChange], encoding: Encoding
) -> list[types.TextEdit]:
    edits = [addressable(snapshot.text, c) for c in changes]
    return [
        types.TextEdit(range=lsp_range(snapshot, c.start, c.end, encoding), new_text=c.new_text)
        for c in edits
    ]


def encoding_of(kind: str | None) -> Encoding:
    if kind == types.PositionEncodingKind.Utf8:
        return "utf-8"
    if kind == types.PositionEncodingKind.Utf32:
        return "utf-32"
    return "utf-16"
