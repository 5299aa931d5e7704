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
thread. A reparse runs outside the lock (0.3-3 ms on a 10k-line file, more when an
edit breaks the structure of a whole block), in 1 kB reads so that a reparse in a
thread lets the event loop have the GIL in between.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from bisect import bisect_right
from collections.abc import Sequence
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


def encode(text: str) -> bytes:
    """The UTF-8 bytes tree-sitter parses (lone surrogates encoded, never raising)."""
    return text.encode("utf-8", _ERRORS)


def _byte_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", _ERRORS))


@dataclass(frozen=True, eq=False)
class ParsedDocument:
    """The tree of one snapshot and the UTF-8 bytes it was parsed from.

    Offsets into ``text`` are code points (as everywhere in agentls); tree-sitter
    speaks bytes into ``data``: ``byte_offset`` and ``char_offset`` convert, in
    O(2048) per call after an O(document) table built on first use (ASCII: free).
    """

    uri: str
    version: int
    seq: int
    language: Language
    tree: tree_sitter.Tree
    data: bytes
    text: str

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
    loop instead of holding it throughout."""

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
    tree = parse_in_slices(_new_parser(lang), data)
    return ParsedDocument(uri, version, seq, lang, tree, data, text)


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
    previous: ParsedDocument | None = None  # the one before it, for a caller a step behind
    edits: list[_Edit] = field(default_factory=list)  # changes after ``parsed`` (or the
    # first parse's snapshot), in order
    initial: Future[ParsedDocument] | None = None  # the first parse, in a worker thread
    timer: asyncio.TimerHandle | None = None
    mark: Mark = (0, 0, 0)  # where the last change started (see ``_edit``)


class DocumentTrees:
    """Syntax trees of the open documents of a ``DocumentStore`` (see the module doc)."""

    def __init__(
        self,
        *,
        background_bytes: int = BACKGROUND_BYTES,
        idle_reparse: float | None = IDLE_REPARSE,
    ) -> None:
        self.background_bytes = background_bytes
        self.idle_reparse = idle_reparse
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
            doc.initial = self._worker().submit(parse_text_of, snapshot, lang, data)
            doc.initial.add_done_callback(lambda f: self._install(doc, f))
        else:
            tree = parse_bytes(_new_parser(lang), data)
            doc.parsed = ParsedDocument(
                snapshot.uri, snapshot.version, snapshot.seq, lang, tree, data, snapshot.text
            )
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

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    # -- internals ------------------------------------------------------------------------
    def _get(self, doc: _Document, uri: str, version: int, seq: int, text: str) -> ParsedDocument:
        with self._lock:
            parsed = doc.parsed
            if parsed is not None and seq == parsed.seq:
                return parsed
            if doc.previous is not None and seq == doc.previous.seq:
                return doc.previous
            old = None
            if parsed is not None and parsed.seq < seq <= doc.seq:
                old = parsed.tree.copy()  # ``parsed.tree`` may be in a caller's hands
                for edit in doc.edits:
                    if edit.seq <= seq:
                        edit.apply(old)
            elif parsed is not None:  # older than what we keep, or never reported to us
                log.debug("no tree kept for %s seq %s: a fresh parse", uri, seq)
            data = doc.data if seq == doc.seq else None
        # Parse outside the lock (the store goes on feeding us meanwhile), in slices so
        # that the event loop gets the GIL between them when this runs in a thread.
        data = data if data is not None else encode(text)
        tree = parse_in_slices(_new_parser(doc.language), data, old)
        new = ParsedDocument(uri, version, seq, doc.language, tree, data, text)
        with self._lock:
            self.reparses += old is not None
            newest = doc.parsed
            if (
                self._docs.get(uri) is doc
                and seq <= doc.seq
                and ((newest is None and old is None) or (newest is not None and seq > newest.seq))
            ):
                doc.previous, doc.parsed = newest, new
                doc.edits = [e for e in doc.edits if e.seq > seq]
        return new

    def _install(self, doc: _Document, initial: Future[ParsedDocument]) -> None:
        """The worker thread's first parse becomes the document's tree."""
        with self._lock:
            if doc.initial is not initial:
                return
            doc.initial = None
            if initial.cancelled() or initial.exception() is not None:
                return
            doc.parsed = initial.result()
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
            args = (doc, doc.uri, doc.version, doc.seq, doc.text)
        if behind:
            self._worker().submit(self._get, *args)


def parse_text_of(snapshot: Snapshot, lang: Language, data: bytes) -> ParsedDocument:
    """The first parse of an opened document (runs in the worker thread)."""
    tree = parse_in_slices(_new_parser(lang), data)
    return ParsedDocument(
        snapshot.uri, snapshot.version, snapshot.seq, lang, tree, data, snapshot.text
    )
