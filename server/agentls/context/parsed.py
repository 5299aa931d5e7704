"""A parsed snapshot of a document (``ParsedDocument``) and the ways to parse one.

Offsets into a document's text are code points (as everywhere in agentls);
tree-sitter speaks UTF-8 bytes: ``ParsedDocument`` converts between the two.
``DocumentTrees`` (``trees.py``) keeps one per open document current; ``parse_text``
parses text that is not an open document.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import tree_sitter

from agentls.context.languages import Language, parser_for

_SLICE = 1024  # bytes handed to tree-sitter per read in a background parse
_BLOCK = 2048  # code points per entry of a document's byte-offset table
_ERRORS = "surrogatepass"  # lone surrogates (possible in JSON text) must not raise


def encode(text: str) -> bytes:
    """The UTF-8 bytes tree-sitter parses (lone surrogates encoded, never raising)."""
    return text.encode("utf-8", _ERRORS)


def byte_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", _ERRORS))


@dataclass(frozen=True, eq=False)
class ParsedDocument:
    """The tree(s) of one snapshot and the UTF-8 bytes they were parsed from.

    ``trees``: one tree, or one per segment of a big document (see ``segments.py``),
    segment ``i`` holding bytes ``[starts[i], starts[i + 1])`` with the document's own
    offsets and points. ``node_at``, ``tree_at`` and ``top_level`` work for both.

    Offsets into ``text`` are code points (as everywhere in agentls); tree-sitter
    speaks bytes into ``data``: ``byte_offset`` and ``char_offset`` convert, in
    O(2048) per call after an O(document) table built on first use (ASCII: free).
    """

    uri: str
    version: int
    seq: int
    language: Language
    trees: tuple[tree_sitter.Tree, ...]
    data: bytes
    text: str
    starts: tuple[int, ...] = (0,)

    @cached_property
    def tree(self) -> tree_sitter.Tree:
        """One tree of the whole document. A segmented one has none kept: this parses
        the text whole (tens of ms for a big file); prefer ``node_at``/``top_level``."""
        if len(self.trees) == 1:
            return self.trees[0]
        return parse_bytes(new_parser(self.language), self.data)

    @property
    def has_error(self) -> bool:
        return any(tree.root_node.has_error for tree in self.trees)

    def segment_of(self, byte: int) -> int:
        return max(0, bisect_right(self.starts, byte) - 1)

    def tree_at(self, byte: int) -> tree_sitter.Tree:
        """The tree holding byte offset ``byte`` (the whole tree, or its segment's)."""
        return self.trees[self.segment_of(byte)]

    def segment_span(self, i: int) -> tuple[int, int]:
        """Bytes ``[start, end)`` of segment ``i``."""
        end = self.starts[i + 1] if i + 1 < len(self.starts) else len(self.data)
        return self.starts[i], end

    def node_at(self, start: int, end: int | None = None) -> tree_sitter.Node | None:
        """The smallest node holding bytes ``[start, end]`` (``end``: ``start``), found
        in ``start``'s segment (a range over two segments gives that segment's root)."""
        root = self.tree_at(start).root_node
        return root.descendant_for_byte_range(start, start if end is None else end)

    def top_level(self) -> Iterator[tree_sitter.Node]:
        """The children of the document's root (of each segment's, in order)."""
        for tree in self.trees:
            yield from tree.root_node.children

    @cached_property
    def _table(self) -> list[int]:
        """Byte offset of every ``_BLOCK``-th code point."""
        table, at, text = [0], 0, self.text
        for i in range(0, len(text), _BLOCK):
            at += byte_len(text[i : i + _BLOCK])
            table.append(at)
        return table

    def byte_offset(self, offset: int) -> int:
        """Byte offset in ``data`` of code-point offset ``offset`` (clamped)."""
        offset = min(max(offset, 0), len(self.text))
        if self.text.isascii():
            return offset
        block = offset // _BLOCK
        return self._table[block] + byte_len(self.text[block * _BLOCK : offset])

    def char_offset(self, byte: int) -> int:
        """Code-point offset of byte offset ``byte`` (inside a character: its start)."""
        data = self.data
        byte = min(max(byte, 0), len(data))
        if self.text.isascii():
            return byte
        while byte < len(data) and byte > 0 and data[byte] & 0xC0 == 0x80:
            byte -= 1
        table = self._table  # the last entry is the end of the text, not a block
        block = max(0, min(bisect_right(table, byte) - 1, len(table) - 2))
        base = table[block]
        return block * _BLOCK + len(data[base:byte].decode("utf-8", _ERRORS))

    def span(self, node: tree_sitter.Node) -> tuple[int, int]:
        """Code-point offsets ``[start, end)`` of a node."""
        return self.char_offset(node.start_byte), self.char_offset(node.end_byte)

    def node_text(self, node: tree_sitter.Node) -> str:
        return self.data[node.start_byte : node.end_byte].decode("utf-8", "replace")


def parse_bytes(
    parser: tree_sitter.Parser, data: bytes, old: tree_sitter.Tree | None = None
) -> tree_sitter.Tree:
    if old is not None:
        return parser.parse(data, old_tree=old)
    return parser.parse(data)


def parse_in_slices(
    parser: tree_sitter.Parser, data: bytes, old: tree_sitter.Tree | None = None
) -> tree_sitter.Tree:
    """A parse in 1 kB reads (incremental with ``old``, edited to fit ``data``): between
    two reads Python runs, so a parse in a worker thread hands the GIL to the event
    loop instead of holding it throughout.

    Only for the first parse of an opened big document: py-tree-sitter 0.26.1 never
    releases what a read callback returns (about the bytes read, per parse; found by the
    load soak, ``benchmarks/load/leaks.py``), so every other parse, the incremental
    ones after each change above all, reads plain ``bytes`` and holds the GIL for its
    few milliseconds."""

    def read(offset: int, _: tuple[int, int]) -> bytes:
        return data[offset : offset + _SLICE]

    if old is None:  # tree-sitter takes no ``old_tree=None``
        return parser.parse(read, progress_callback=lambda *_: False)
    return parser.parse(read, old_tree=old, progress_callback=lambda *_: False)


def new_parser(lang: Language) -> tree_sitter.Parser:
    grammar = parser_for(lang.name).language
    assert grammar is not None
    return tree_sitter.Parser(grammar)


def parse_text(
    text: str, lang: Language, uri: str = "", version: int = 0, seq: int = -1
) -> ParsedDocument:
    """A fresh parse of ``text`` (no caching): for text that is not an open document."""
    data = encode(text)
    tree = parse_bytes(new_parser(lang), data)
    return ParsedDocument(uri, version, seq, lang, (tree,), data, text)
