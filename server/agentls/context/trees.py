"""One tree-sitter tree per open document, kept current by incremental reparses.

``DocumentTrees`` listens to a ``DocumentStore``: on open it parses the document
(a big one in a worker thread, in slices, so the event loop keeps the GIL most of
the time); on every change it only records the edit (``Tree.edit`` arguments, byte
offsets and points) and keeps the UTF-8 bytes current. The reparse, incremental
against the last tree, happens when someone asks (``get``) or, in the worker thread,
once the document has been quiet for ``idle_reparse`` seconds: a streamed rewrite
sends an edit every line, and reparsing after each of them would cost more than it
saves.

Trees are keyed by the snapshot (version and the store's change counter ``seq``),
never by file times: ``get(snapshot)`` returns the tree of exactly that text.

Use::

    trees = DocumentTrees()
    store.listeners.append(trees)      # fed by open / change / close
    parsed = trees.get(store.snapshot(uri))
    if parsed is not None:
        node = parsed.tree.root_node.descendant_for_byte_range(b, b)
        start, end = parsed.span(node)  # code-point offsets into parsed.text

Thread-safe: the store feeds it on the event loop; ``get`` may be called from any
thread. A reparse runs outside the lock, from plain bytes (it holds the GIL for its
few milliseconds: py-tree-sitter 0.26.1 leaks what a read callback returns, so only
the first parse of a big document reads in 1 kB slices, see ``parse_in_slices``).

Big documents are kept in segments. tree-sitter-python's incremental reparse of one
tree costs O(top-level statements of the file) for some one-character edits (its
module-level repeat nodes are "fragile": a keystroke after a block header re-walks
and relexes the whole top level, 5-40 ms on a 10k-line file). A Python document
bigger than ``segment_above`` bytes is therefore split at top-level statements
(column 0) into runs of about ``segment_bytes``, one tree per segment, each parsed
over the whole document's bytes with ``included_ranges`` = that segment, so that
node offsets and points are the document's. An edit reparses only its segment.

Each segment is CLEAN, LOCAL or BROKEN (``_state``). CLEAN: no syntax error, its
top-level statements at column 0, nothing but blanks after its last one. LOCAL: the
same with a syntax error kept on single lines inside it (not on the row of its first
token nor of its last, no MISSING token, no string or bracket opened in an ERROR
without its end), as while
one types ``x = 1`` in a function body. A segment with an error is always a fresh
parse of its range (never an incremental one). The segments stand for the document
while none is BROKEN; each segment's tree is then a fresh parse of its bytes, and
without an error their top-level nodes are those of a fresh parse of the whole text
(``tests/unit/test_trees.py`` checks both on random edits). With a LOCAL error the
segment's text ends at the top level with no string or bracket open (the test checks
that with a plain Python lexer), but tree-sitter's error recovery in a whole parse is
not local: it sometimes recovers otherwise, even letting a block run on over later
segments (the test counts how often); the segments then hold the recovery of the
segment alone, a deterministic one, until the document is quiet. With a
BROKEN segment (an open string or bracket that a whole parse would run on with, an
error at a segment's end, an indented first line) the document's tree is one
whole-document tree: a fresh parse after segments (the whole tree was only edited
along), then reparsed incrementally, until no segment is BROKEN (each next edit of
one retries it). At rest (the idle refresh) a document with an error in any segment
is one tree, a fresh whole parse: the next edit goes back to segments if it can.
Consumers reach the nodes through ``ParsedDocument.node_at`` / ``top_level`` /
``tree_at``; ``ParsedDocument.tree`` of a segmented document parses it whole.

Segmenting is on for Python only: its top level restarts cleanly at any column-0
statement, and that is what the property test validates. JavaScript/TypeScript would
need more (automatic semicolon insertion joins ``a`` and a next line ``(b)``); Go,
Rust and Java look safe but are not validated: they keep one tree.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property

import tree_sitter

from agentls.context.languages import Language, language_for, parser_for
from agentls.edits.documents import Snapshot
from agentls.edits.text import TextChange

log = logging.getLogger(__name__)

BACKGROUND_BYTES = 32_000  # documents bigger than this are first parsed in a worker thread
IDLE_REPARSE = 0.3  # seconds without changes before the tree is brought up to date
_SLICE = 1024  # bytes handed to tree-sitter per read in a background parse
_BLOCK = 2048  # code points per entry of a document's byte-offset table
_ERRORS = "surrogatepass"  # lone surrogates (possible in JSON text) must not raise
SEGMENT_ABOVE = 64_000  # bytes: bigger documents of a SEGMENTED language get segments
SEGMENT_BYTES = 8_192  # about this many bytes per segment (a reparse's worst case: ~1 ms)
SEGMENTED = frozenset({"python"})  # languages whose top level restarts at column 0
_END = 0xFFFFFFFF  # tree-sitter's "to the end" in a range


def encode(text: str) -> bytes:
    """The UTF-8 bytes tree-sitter parses (lone surrogates encoded, never raising)."""
    return text.encode("utf-8", _ERRORS)


def _byte_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", _ERRORS))


@dataclass(frozen=True, eq=False)
class ParsedDocument:
    """The tree(s) of one snapshot and the UTF-8 bytes they were parsed from.

    ``trees``: one tree, or one per segment of a big document (see the module doc),
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
        return parse_bytes(_new_parser(self.language), self.data)

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
            at += _byte_len(text[i : i + _BLOCK])
            table.append(at)
        return table

    def byte_offset(self, offset: int) -> int:
        """Byte offset in ``data`` of code-point offset ``offset`` (clamped)."""
        offset = min(max(offset, 0), len(self.text))
        if self.text.isascii():
            return offset
        block = offset // _BLOCK
        return self._table[block] + _byte_len(self.text[block * _BLOCK : offset])

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


@dataclass(frozen=True, slots=True)
class _Edit:
    """``Tree.edit`` arguments of one change, and the change number after it."""

    seq: int
    start_byte: int
    old_end_byte: int
    new_end_byte: int
    start_point: tuple[int, int]
    old_end_point: tuple[int, int]
    new_end_point: tuple[int, int]

    def apply(self, tree: tree_sitter.Tree) -> None:
        tree.edit(
            start_byte=self.start_byte,
            old_end_byte=self.old_end_byte,
            new_end_byte=self.new_end_byte,
            start_point=self.start_point,
            old_end_point=self.old_end_point,
            new_end_point=self.new_end_point,
        )


Mark = tuple[int, int, int]  # (code point, byte, row) of a place in an unchanged prefix


def _edit(
    seq: int, text: str, data: bytes, change: TextChange, mark: Mark = (0, 0, 0)
) -> tuple[_Edit, bytes, Mark]:
    """The edit of ``change`` (code points into ``text``), the new bytes, and the mark of
    the change's start. ``mark`` lies in a prefix of ``text`` no change has touched since
    it was taken (the start of the last change is such a place): counting from there
    instead of from 0, edits near each other cost O(distance), not O(document)."""
    at, at_byte, at_row = mark if mark[0] <= change.start else (0, 0, 0)
    if text.isascii():
        start, old_end = change.start, change.end
    else:
        start = at_byte + _byte_len(text[at : change.start])
        old_end = start + _byte_len(text[change.start : change.end])
    new = encode(change.new_text)
    row = at_row + data.count(b"\n", at_byte, start)
    line = data.rfind(b"\n", 0, start) + 1
    old_row = row + data.count(b"\n", start, old_end)
    old_line = data.rfind(b"\n", 0, old_end) + 1
    added = new.count(b"\n")
    if added:
        new_end_point = (row + added, len(new) - new.rfind(b"\n") - 1)
    else:
        new_end_point = (row, start - line + len(new))
    edit = _Edit(
        seq,
        start,
        old_end,
        start + len(new),
        (row, start - line),
        (old_row, old_end - old_line),
        new_end_point,
    )
    return edit, b"".join((data[:start], new, data[old_end:])), (change.start, start, row)


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


def _new_parser(lang: Language) -> tree_sitter.Parser:
    grammar = parser_for(lang.name).language
    assert grammar is not None
    return tree_sitter.Parser(grammar)


def parse_text(
    text: str, lang: Language, uri: str = "", version: int = 0, seq: int = -1
) -> ParsedDocument:
    """A fresh parse of ``text`` (no caching): for text that is not an open document."""
    data = encode(text)
    tree = parse_bytes(_new_parser(lang), data)
    return ParsedDocument(uri, version, seq, lang, (tree,), data, text)


# -- segments -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Segments:
    """A segmented document's trees at one snapshot (see the module doc)."""

    starts: tuple[int, ...]  # byte offset of each segment's first line (column 0)
    rows: tuple[int, ...]  # and its row
    trees: tuple[tree_sitter.Tree, ...]  # one per segment, incremental bases
    unclean: frozenset[int]  # segments whose last reparse was not CLEAN (``_state``)
    # The whole document's tree: parsed while some segment is BROKEN (it is then the
    # document's tree), else only edited along (``stale``), the base of the next whole
    # reparse (brought current when the document is quiet, see ``_idle``).
    whole: tree_sitter.Tree
    stale: bool = False
    broken: frozenset[int] = frozenset()  # the unclean segments that are BROKEN
    rested: bool = False  # ``whole`` is a fresh parse and the document's tree (``_idle``)

    def range(self, i: int) -> tree_sitter.Range:
        if i + 1 < len(self.starts):
            end, end_point = self.starts[i + 1], (self.rows[i + 1], 0)
        else:
            end, end_point = _END, (_END, _END)
        return tree_sitter.Range((self.rows[i], 0), end_point, self.starts[i], end)


ParsedDocumentTrees = tuple[tuple[tree_sitter.Tree, ...], tuple[int, ...]]  # trees, starts


CLEAN, LOCAL, BROKEN = 0, 1, 2  # a segment's state (see ``_state``)


def _state(tree: tree_sitter.Tree, data: bytes, end: int) -> int:
    """How a segment's tree (its bytes end at ``end``) stands for the whole document.

    CLEAN: as a parse of the whole text has it there. No error, every top-level
    statement that starts a line at column 0 (an indented one would belong to the
    previous segment's last block; ``a; b`` puts ``b`` mid-line), and after the last
    node only blanks (a trailing backslash would join the next segment's first line).

    LOCAL: the same but for a syntax error kept on single lines away from both of the
    segment's ends: every ERROR node on one row, after the segment's first token and
    on a row before that of its last token; no token made up (MISSING: a bracket, a
    dedent, a string's end; a hidden one is seen as a node with an error that no child
    holds); no bracket opened inside an ERROR without its end, no string either (an unterminated
    triple-quoted or f-string, which a whole parse would close in a later segment).
    The segment's text then ends at the top level with nothing open (a whole parse's
    error recovery may still differ, see the module doc).

    BROKEN: anything else (the text may parse differently in the rest of the file)."""
    root = tree.root_node
    last = None
    for child in root.children:
        if (
            child.start_point.column != 0
            and not child.is_extra
            and (last is None or child.start_point.row != last.end_point.row)
        ):
            return BROKEN
        last = child
    if last is None:
        if data[root.start_byte : min(end, len(data))].strip():
            return BROKEN
    elif last.type == "line_continuation" or data[last.end_byte : end].strip():
        return BROKEN
    if not root.has_error:
        return CLEAN
    code = [child for child in root.children if not child.is_extra]
    if not code:
        return BROKEN
    head = code[0].start_byte
    leaf = code[-1]  # the last token: down the last children that are not comments
    while leaf.child_count:
        inner = [child for child in leaf.children if not child.is_extra]
        if not inner:
            break
        leaf = inner[-1]
    tail_row = leaf.end_point.row
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_missing:
            return BROKEN
        if node.is_error and (
            node.start_point.row != node.end_point.row
            or node.start_byte <= head
            or node.end_point.row >= tail_row
            or _open_string(node)
            or _open_bracket(node)
        ):
            return BROKEN
        erroneous = [child for child in node.children if child.has_error or child.is_missing]
        if not erroneous and not node.is_error:
            return BROKEN  # the error is a hidden token made up (a MISSING dedent)
        stack.extend(erroneous)
    return LOCAL


_OPENERS = {"(": ")", "[": "]", "{": "}"}


def _open_bracket(error: tree_sitter.Node) -> bool:
    """Whether an ERROR node holds an opening bracket without its closing one (a
    bracket complete inside a node below is in that node, not a child here)."""
    depth = 0
    for child in error.children:
        if child.type in _OPENERS:
            depth += 1
        elif child.type in _OPENERS.values():
            depth = max(0, depth - 1)
    return depth > 0


def _open_string(error: tree_sitter.Node) -> bool:
    """Whether an ERROR node holds the start of a string without the string's end."""
    stack = [error]
    while stack:
        node = stack.pop()
        if node.type == "string_start":
            string = node.parent
            closing = string.child(string.child_count - 1) if string is not None else None
            if (
                string is None
                or string.type != "string"
                or closing is None
                or closing.type != "string_end"
                or closing.is_missing
            ):
                return True
        stack.extend(node.children)
    return False


def _parse_segment(
    parser: tree_sitter.Parser,
    segments: _Segments,
    i: int,
    data: bytes,
    old: tree_sitter.Tree | None,
) -> tuple[tree_sitter.Tree, int]:
    """Segment ``i``'s tree and state (``_state``). A tree with a syntax error is always
    a fresh parse of the segment, never an incremental one (tree-sitter's incremental
    recovery can differ from a fresh parse's): it depends on the segment's bytes only."""
    parser.included_ranges = [segments.range(i)]
    if old is not None and old.root_node.has_error:
        old = None
    tree = parse_bytes(parser, data, old)
    if old is not None and tree.root_node.has_error:
        tree = parse_bytes(parser, data)
    end = segments.starts[i + 1] if i + 1 < len(segments.starts) else len(data)
    return tree, _state(tree, data, end)


def _split(
    lang: Language,
    whole: tree_sitter.Tree,
    data: bytes,
    size: int,
    tops: list[tree_sitter.Node] | None = None,
    reuse: dict[tuple[int, int], tree_sitter.Tree] | None = None,
) -> _Segments | None:
    """Segments of a document whose whole tree is ``whole`` (None: not worth it, or
    its text cannot be segmented now: a syntax error, a segment that is not clean).
    A segmented document cut again: ``tops``, its top-level nodes (those of clean
    segments, so a whole parse's), and its segments' trees by their byte spans."""
    root = whole.root_node
    if lang.name not in SEGMENTED or (tops is None and root.has_error):
        return None
    tops = root.children if tops is None else tops
    starts, rows = [0], [0]
    for child in tops:
        if (
            child.start_byte - starts[-1] >= size
            and child.start_point.column == 0
            and not child.is_extra  # a comment at column 0 may be inside a block
        ):
            starts.append(child.start_byte)
            rows.append(child.start_point.row)
    if len(starts) < 2:
        return None
    segments = _Segments(tuple(starts), tuple(rows), (), frozenset(), whole)
    parser = _new_parser(lang)
    trees = []
    for i in range(len(starts)):
        end = starts[i + 1] if i + 1 < len(starts) else len(data)
        kept = (reuse or {}).get((starts[i], end))
        if kept is not None:
            trees.append(kept)
            continue
        tree, state = _parse_segment(parser, segments, i, data, None)
        if state != CLEAN:
            log.debug("segment %d of %d not clean: one tree", i, len(starts))
            return None
        trees.append(tree)
    segmented = [(c.type, c.start_byte, c.end_byte) for t in trees for c in t.root_node.children]
    if segmented != [(c.type, c.start_byte, c.end_byte) for c in tops]:
        log.warning("segments disagree with the whole parse: one tree")
        return None
    return _Segments(segments.starts, segments.rows, tuple(trees), frozenset(), whole)


def _reparse_segments(
    lang: Language, base: _Segments, edits: Sequence[_Edit], data: bytes
) -> tuple[ParsedDocumentTrees, _Segments]:
    """Bring ``base`` through ``edits`` to ``data``: the document's trees and starts
    (the segments', or one whole tree while a segment is BROKEN), and the segments."""
    starts, rows, trees = list(base.starts), list(base.rows), list(base.trees)
    unclean, broken = set(base.unclean), set(base.broken)
    touched: set[int] = set()
    copied = [False] * len(trees)
    whole = base.whole.copy() if edits else base.whole
    for edit in edits:
        i = bisect_right(starts, edit.start_byte) - 1
        j = bisect_right(starts, edit.old_end_byte) - 1
        if j > i:  # the edit crosses a boundary (or deletes the newline before it): merge
            del starts[i + 1 : j + 1], rows[i + 1 : j + 1], trees[i + 1 : j + 1]
            del copied[i + 1 : j + 1]

            def keep(k: int, i: int = i, j: int = j) -> int:
                return k if k <= i else k - (j - i)

            unclean = {keep(k) for k in unclean if not i < k <= j}
            broken = {keep(k) for k in broken if not i < k <= j}
            touched = {keep(k) for k in touched if not i < k <= j}
        edit.apply(whole)
        for k in range(i, len(trees)):  # the segments before the edit do not move
            if not copied[k]:
                trees[k], copied[k] = trees[k].copy(), True
            edit.apply(trees[k])
        shift = edit.new_end_byte - edit.old_end_byte
        down = edit.new_end_point[0] - edit.old_end_point[0]
        for k in range(i + 1, len(starts)):
            starts[k] += shift
            rows[k] += down
        touched.add(i)
    segments = _Segments(tuple(starts), tuple(rows), (), frozenset(), whole)
    parser = _new_parser(lang)
    for i in sorted(touched):
        trees[i], state = _parse_segment(parser, segments, i, data, trees[i])
        (unclean.discard if state == CLEAN else unclean.add)(i)
        (broken.discard if state != BROKEN else broken.add)(i)
    stale = base.stale or bool(edits)
    if broken:  # the document's tree is the whole one, reparsed
        # incrementally if it was current before these edits; else afresh (an old
        # tree edited through many edits is no faster to reparse, and with a syntax
        # error an incremental reparse may recover differently than a fresh parse)
        old = None if base.stale else whole
        whole, stale = parse_bytes(_new_parser(lang), data, old), False
        result: ParsedDocumentTrees = ((whole,), (0,))
    else:
        result = (tuple(trees), segments.starts)
    return result, _Segments(
        segments.starts,
        segments.rows,
        tuple(trees),
        frozenset(unclean),
        whole,
        stale,
        frozenset(broken),
    )


@dataclass(eq=False)
class _Document:
    uri: str
    language: Language
    # The text as last reported (after every change) and its bytes.
    version: int
    seq: int
    text: str
    data: bytes
    parsed: ParsedDocument | None = None  # the newest tree, possibly behind ``seq``
    segments: _Segments | None = None  # a segmented document's trees at ``parsed``
    previous: ParsedDocument | None = None  # the one before it, for a caller a step behind
    edits: list[_Edit] = field(default_factory=list)  # changes after ``parsed`` (or the
    # first parse's snapshot), in order
    initial: Future[_Parsed] | None = None  # the first parse, in a worker thread
    timer: asyncio.TimerHandle | None = None
    mark: Mark = (0, 0, 0)  # where the last change started (see ``_edit``)


class DocumentTrees:
    """Syntax trees of the open documents of a ``DocumentStore`` (see the module doc)."""

    def __init__(
        self,
        *,
        background_bytes: int = BACKGROUND_BYTES,
        idle_reparse: float | None = IDLE_REPARSE,
        segment_above: int = SEGMENT_ABOVE,
        segment_bytes: int = SEGMENT_BYTES,
    ) -> None:
        self.background_bytes = background_bytes
        self.idle_reparse = idle_reparse
        self.segment_above = segment_above  # bigger documents are kept in segments
        self.segment_bytes = segment_bytes
        self._docs: dict[str, _Document] = {}
        # Held only to read or swap a document's state, never while parsing.
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.reparses = 0  # incremental reparses done (for tests and benchmarks)

    # -- fed by the store (DocumentListener) ----------------------------------------------
    def opened(self, snapshot: Snapshot) -> None:
        self.closed(snapshot.uri)
        lang = language_for(snapshot.uri, snapshot.language_id)
        if lang is None:
            return
        self._note_loop()
        data = encode(snapshot.text)
        doc = _Document(snapshot.uri, lang, snapshot.version, snapshot.seq, snapshot.text, data)
        if len(data) > self.background_bytes:
            doc.initial = self._worker().submit(self._first_parse, snapshot, lang, data)
            doc.initial.add_done_callback(lambda f: self._install(doc, f))
        else:
            doc.parsed, doc.segments = self._first_parse(snapshot, lang, data, whole=False)
        with self._lock:
            self._docs[snapshot.uri] = doc

    def changed(self, before: Snapshot, after: Snapshot, changes: Sequence[TextChange]) -> None:
        """``changes`` turn ``before`` into ``after``, in order (each against the text the
        previous one left)."""
        doc = self._docs.get(after.uri)
        if doc is None:
            return
        if doc.seq != before.seq:  # a change we never saw: start again from this text
            log.warning(
                "trees of %s out of step (%s != %s); reparsing", after.uri, doc.seq, before.seq
            )
            self.opened(after)
            return
        text, data, mark = doc.text, doc.data, doc.mark
        edits = []
        for i, change in enumerate(changes):
            edit, data, mark = _edit(after.seq, text, data, change, mark)
            edits.append(edit)
            if i < len(changes) - 1:
                text = text[: change.start] + change.new_text + text[change.end :]
        with self._lock:
            doc.edits.extend(edits)
            doc.version, doc.seq, doc.text, doc.data = after.version, after.seq, after.text, data
            doc.mark = mark
        self._schedule(doc)

    def closed(self, uri: str) -> None:
        with self._lock:
            doc = self._docs.pop(uri, None)
        if doc is not None and doc.timer is not None:
            doc.timer.cancel()

    # -- read -----------------------------------------------------------------------------
    def get(self, snapshot: Snapshot) -> ParsedDocument | None:
        """The tree of exactly ``snapshot`` (reparsed incrementally if the tree is behind);
        None for a language without a grammar."""
        doc = self._docs.get(snapshot.uri)
        if doc is None:
            lang = language_for(snapshot.uri, snapshot.language_id)
            if lang is None:
                return None
            return parse_text(snapshot.text, lang, snapshot.uri, snapshot.version, snapshot.seq)
        initial = doc.initial
        if initial is not None:
            try:
                initial.result()  # waits for the worker thread's first parse
            except Exception:
                log.exception("parse of %s failed", snapshot.uri)
            self._install(doc, initial)
        return self._get(doc, snapshot.uri, snapshot.version, snapshot.seq, snapshot.text)

    def current(self, uri: str) -> ParsedDocument | None:
        """The tree of the newest text of ``uri`` (None: not open or no grammar)."""
        doc = self._docs.get(uri)
        if doc is None:
            return None
        with self._lock:
            snapshot = Snapshot(uri, doc.version, doc.text, doc.seq)
        return self.get(snapshot)

    def rest(self, uri: str) -> ParsedDocument | None:
        """What the idle refresh does once ``uri`` is quiet, now and in this thread (for
        tests and benchmarks); the tree of the newest text after it."""
        doc = self._docs.get(uri)
        if doc is None:
            return None
        self.current(uri)  # (waits for a first parse in the worker thread)
        with self._lock:
            args = (doc, doc.uri, doc.version, doc.seq, doc.text, doc.segments is None)
        self._idle(False, *args)
        return self.current(uri)

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    # -- internals ------------------------------------------------------------------------
    def _first_parse(
        self, snapshot: Snapshot, lang: Language, data: bytes, whole: bool = True
    ) -> _Parsed:
        """The first parse of an opened document (a big one in the worker thread), in
        segments if it is big enough."""
        tree = (parse_in_slices if whole else parse_bytes)(_new_parser(lang), data)
        segments = self._split(lang, tree, data)
        trees, starts = (segments.trees, segments.starts) if segments else ((tree,), (0,))
        parsed = ParsedDocument(
            snapshot.uri, snapshot.version, snapshot.seq, lang, trees, data, snapshot.text, starts
        )
        return parsed, segments

    def _split(self, lang: Language, tree: tree_sitter.Tree, data: bytes) -> _Segments | None:
        if len(data) <= self.segment_above:
            return None
        return _split(lang, tree, data, self.segment_bytes)

    def _get(
        self, doc: _Document, uri: str, version: int, seq: int, text: str, split: bool = False
    ) -> ParsedDocument:
        """The tree of ``text`` (at ``seq``); ``split``: segment the document if it is
        big and kept whole (once a syntax error at its opening is gone; in the worker)."""
        with self._lock:
            parsed = doc.parsed
            if parsed is not None and seq == parsed.seq:
                return parsed
            if doc.previous is not None and seq == doc.previous.seq:
                return doc.previous
            base, segments, edits = None, None, []
            if parsed is not None and parsed.seq < seq <= doc.seq:
                base, segments = parsed, doc.segments
                edits = [edit for edit in doc.edits if edit.seq <= seq]
            elif parsed is not None:  # older than what we keep, or never reported to us
                log.debug("no tree kept for %s seq %s: a fresh parse", uri, seq)
            data = doc.data if seq == doc.seq else None
        # Parse outside the lock (the store goes on feeding us meanwhile), in slices so
        # that the event loop gets the GIL between them when this runs in a thread.
        # Trees are copied before an edit: ``parsed``'s may be in a caller's hands.
        data = data if data is not None else encode(text)
        if segments is not None:
            (trees, starts), segments = _reparse_segments(doc.language, segments, edits, data)
        else:
            old = None
            if base is not None:
                old = base.trees[0].copy()
                for edit in edits:
                    edit.apply(old)
            tree = parse_bytes(_new_parser(doc.language), data, old)
            segments = self._split(doc.language, tree, data) if split or old is None else None
            trees, starts = (segments.trees, segments.starts) if segments else ((tree,), (0,))
        new = ParsedDocument(uri, version, seq, doc.language, trees, data, text, starts)
        with self._lock:
            self.reparses += base is not None
            newest = doc.parsed
            if (
                self._docs.get(uri) is doc
                and seq <= doc.seq
                and ((newest is None and base is None) or (newest is not None and seq > newest.seq))
            ):
                doc.previous, doc.parsed, doc.segments = newest, new, segments
                doc.edits = [e for e in doc.edits if e.seq > seq]
        return new

    def _install(self, doc: _Document, initial: Future[_Parsed]) -> None:
        """The worker thread's first parse becomes the document's tree."""
        with self._lock:
            if doc.initial is not initial:
                return
            doc.initial = None
            if initial.cancelled() or initial.exception() is not None:
                return
            doc.parsed, doc.segments = initial.result()
            pending = bool(doc.edits)
        if pending and self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._schedule, doc)

    def _worker(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="agentls-parse")
        return self._executor

    def _note_loop(self) -> None:
        try:
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            pass

    def _schedule(self, doc: _Document) -> None:
        """Bring the tree up to date once the document has been quiet for a while."""
        if self.idle_reparse is None or self._loop is None:
            return
        if doc.timer is not None:
            doc.timer.cancel()
        doc.timer = self._loop.call_later(self.idle_reparse, self._refresh, doc)

    def _refresh(self, doc: _Document) -> None:
        """On the loop, when the document has been quiet: reparse in the worker thread."""
        doc.timer = None
        if self._docs.get(doc.uri) is not doc or doc.initial is not None:
            return
        with self._lock:
            behind = doc.parsed is not None and doc.parsed.seq != doc.seq
            args = (doc, doc.uri, doc.version, doc.seq, doc.text, doc.segments is None)
        segments = doc.segments
        if (
            behind
            or (segments is not None and segments.stale)
            or (segments is not None and segments.unclean and not segments.rested)
        ):
            self._worker().submit(self._idle, behind, *args)

    def _idle(
        self, behind: bool, doc: _Document, uri: str, version: int, seq: int, text: str, split: bool
    ) -> None:
        """In the worker: the tree brought current; for a segmented document its whole
        tree too (a syntax error's reparse then starts from a recent one), and segments
        grown big (edits only ever merge them) cut again. A segmented document with a
        syntax error (a LOCAL one kept in its segment, or BROKEN) is, at rest, one tree:
        a fresh parse of the whole text (not an incremental one, whose error recovery
        can differ); the next edit goes back to segments if they are CLEAN or LOCAL."""
        if behind:
            self._get(doc, uri, version, seq, text, split)
        with self._lock:
            parsed, segments = doc.parsed, doc.segments
        if parsed is None or segments is None:
            return
        new = parsed
        if segments.unclean:
            whole = parse_bytes(_new_parser(doc.language), parsed.data)
            segments = dataclasses.replace(segments, whole=whole, stale=False, rested=True)
            new = dataclasses.replace(parsed, trees=(whole,), starts=(0,))
        else:
            if segments.stale:
                whole = parse_bytes(_new_parser(doc.language), parsed.data, segments.whole.copy())
                segments = dataclasses.replace(segments, whole=whole, stale=False)
            spans = [parsed.segment_span(i) for i in range(len(parsed.trees))]
            if len(parsed.trees) > 1 and max(e - s for s, e in spans) > 4 * self.segment_bytes:
                reuse = dict(zip(spans, parsed.trees, strict=True))
                cut = _split(
                    doc.language,
                    segments.whole,
                    parsed.data,
                    self.segment_bytes,
                    list(parsed.top_level()),
                    reuse,
                )
                if cut is not None:
                    segments = cut
                    new = dataclasses.replace(parsed, trees=cut.trees, starts=cut.starts)
        with self._lock:
            if doc.parsed is parsed:
                doc.parsed, doc.segments = new, segments


_Parsed = tuple[ParsedDocument, _Segments | None]
