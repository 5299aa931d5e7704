"""Big documents in segments: one tree per run of top-level statements.

tree-sitter-python's incremental reparse of one tree costs O(top-level statements of
the file) for some one-character edits (its
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

import logging
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

import tree_sitter

from agentls.context.languages import Language
from agentls.context.parsed import byte_len, encode, new_parser, parse_bytes
from agentls.edits.text import TextChange

log = logging.getLogger(__name__)

SEGMENTED = frozenset({"python"})  # languages whose top level restarts at column 0
_END = 0xFFFFFFFF  # tree-sitter's "to the end" in a range


@dataclass(frozen=True, slots=True)
class Edit:
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


def edit_of(
    seq: int, text: str, data: bytes, change: TextChange, mark: Mark = (0, 0, 0)
) -> tuple[Edit, bytes, Mark]:
    """The edit of ``change`` (code points into ``text``), the new bytes, and the mark of
    the change's start. ``mark`` lies in a prefix of ``text`` no change has touched since
    it was taken (the start of the last change is such a place): counting from there
    instead of from 0, edits near each other cost O(distance), not O(document)."""
    at, at_byte, at_row = mark if mark[0] <= change.start else (0, 0, 0)
    if text.isascii():
        start, old_end = change.start, change.end
    else:
        start = at_byte + byte_len(text[at : change.start])
        old_end = start + byte_len(text[change.start : change.end])
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
    edit = Edit(
        seq,
        start,
        old_end,
        start + len(new),
        (row, start - line),
        (old_row, old_end - old_line),
        new_end_point,
    )
    return edit, b"".join((data[:start], new, data[old_end:])), (change.start, start, row)


@dataclass(frozen=True, slots=True)
class Segments:
    """A segmented document's trees at one snapshot (see the module doc)."""

    starts: tuple[int, ...]  # byte offset of each segment's first line (column 0)
    rows: tuple[int, ...]  # and its row
    trees: tuple[tree_sitter.Tree, ...]  # one per segment, incremental bases
    unclean: frozenset[int]  # segments whose last reparse was not CLEAN (``_state``)
    # The whole document's tree: parsed while some segment is BROKEN (it is then the
    # document's tree), else only edited along (``stale``), the base of the next whole
    # reparse (brought current when the document is quiet: ``DocumentTrees._idle``).
    whole: tree_sitter.Tree
    stale: bool = False
    broken: frozenset[int] = frozenset()  # the unclean segments that are BROKEN
    rested: bool = False  # ``whole``: a fresh parse, the document's tree (``_idle``)

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
    segments: Segments,
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


def split_segments(
    lang: Language,
    whole: tree_sitter.Tree,
    data: bytes,
    size: int,
    tops: list[tree_sitter.Node] | None = None,
    reuse: dict[tuple[int, int], tree_sitter.Tree] | None = None,
) -> Segments | None:
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
    segments = Segments(tuple(starts), tuple(rows), (), frozenset(), whole)
    parser = new_parser(lang)
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
    return Segments(segments.starts, segments.rows, tuple(trees), frozenset(), whole)


def reparse_segments(
    lang: Language, base: Segments, edits: Sequence[Edit], data: bytes
) -> tuple[ParsedDocumentTrees, Segments]:
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
    segments = Segments(tuple(starts), tuple(rows), (), frozenset(), whole)
    parser = new_parser(lang)
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
        whole, stale = parse_bytes(new_parser(lang), data, old), False
        result: ParsedDocumentTrees = ((whole,), (0,))
    else:
        result = (tuple(trees), segments.starts)
    return result, Segments(
        segments.starts,
        segments.rows,
        tuple(trees),
        frozenset(unclean),
        whole,
        stale,
        frozenset(broken),
    )
