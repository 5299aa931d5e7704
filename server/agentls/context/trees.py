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

Big documents (a Python file over ``segment_above`` bytes) are kept in segments, one
tree per run of top-level statements: see ``segments.py``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import tree_sitter

from agentls.context.languages import Language, language_for
from agentls.context.parsed import (
    ParsedDocument,
    encode,
    new_parser,
    parse_bytes,
    parse_in_slices,
    parse_text,
)
from agentls.context.segments import (
    Edit,
    Mark,
    Segments,
    edit_of,
    reparse_segments,
    split_segments,
)
from agentls.edits.documents import Snapshot
from agentls.edits.text import TextChange

# Re-exported: callers import these from here.
__all__ = [
    "DocumentTrees",
    "ParsedDocument",
    "encode",
    "parse_bytes",
    "parse_in_slices",
    "parse_text",
]

log = logging.getLogger(__name__)

BACKGROUND_BYTES = 32_000  # documents bigger than this are first parsed in a worker thread
IDLE_REPARSE = 0.3  # seconds without changes before the tree is brought up to date
SEGMENT_ABOVE = 64_000  # bytes: bigger documents of a SEGMENTED language get segments
SEGMENT_BYTES = 8_192  # about this many bytes per segment (a reparse's worst case: ~1 ms)


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
    segments: Segments | None = None  # a segmented document's trees at ``parsed``
    previous: ParsedDocument | None = None  # the one before it, for a caller a step behind
    edits: list[Edit] = field(default_factory=list)  # changes after ``parsed`` (or the
    # first parse's snapshot), in order
    initial: Future[_Parsed] | None = None  # the first parse, in a worker thread
    timer: asyncio.TimerHandle | None = None
    mark: Mark = (0, 0, 0)  # where the last change started (see ``edit_of``)


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
            edit, data, mark = edit_of(after.seq, text, data, change, mark)
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
        tree = (parse_in_slices if whole else parse_bytes)(new_parser(lang), data)
        segments = self._split(lang, tree, data)
        trees, starts = (segments.trees, segments.starts) if segments else ((tree,), (0,))
        parsed = ParsedDocument(
            snapshot.uri, snapshot.version, snapshot.seq, lang, trees, data, snapshot.text, starts
        )
        return parsed, segments

    def _split(self, lang: Language, tree: tree_sitter.Tree, data: bytes) -> Segments | None:
        if len(data) <= self.segment_above:
            return None
        return split_segments(lang, tree, data, self.segment_bytes)

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
            (trees, starts), segments = reparse_segments(doc.language, segments, edits, data)
        else:
            old = None
            if base is not None:
                old = base.trees[0].copy()
                for edit in edits:
                    edit.apply(old)
            tree = parse_bytes(new_parser(doc.language), data, old)
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
            whole = parse_bytes(new_parser(doc.language), parsed.data)
            segments = dataclasses.replace(segments, whole=whole, stale=False, rested=True)
            new = dataclasses.replace(parsed, trees=(whole,), starts=(0,))
        else:
            if segments.stale:
                whole = parse_bytes(new_parser(doc.language), parsed.data, segments.whole.copy())
                segments = dataclasses.replace(segments, whole=whole, stale=False)
            spans = [parsed.segment_span(i) for i in range(len(parsed.trees))]
            if len(parsed.trees) > 1 and max(e - s for s, e in spans) > 4 * self.segment_bytes:
                reuse = dict(zip(spans, parsed.trees, strict=True))
                cut = split_segments(
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


_Parsed = tuple[ParsedDocument, Segments | None]
