"""Tags of an open document, kept current from its incremental tree at little cost.

A document's top-level nodes (functions, classes, imports, statements) are tagged
one by one and remembered by their bytes: a full update queries only the nodes whose
text is new and reuses the others, moved to their new rows; a big class is tagged
member by member. When the caller says which bytes changed since the last update
(``dirty``), only the top-level nodes around them are visited at all: the tags
before them are kept, those after them are moved by the change in line count. Names
(``FileTags.names``) only grow on that path; every ``FULL_EVERY``-th update is a
full one, which makes them exact again.

A big document's tree comes in segments (``ParsedDocument.trees``, see ``trees.py``):
its top-level nodes are those of all segments in order, and a partial update looks
only at the segments around the changed bytes.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from dataclasses import dataclass

import tree_sitter

from agentls.context.languages import Language
from agentls.context.tags import Definition, FileTags, extract_range, words_of
from agentls.context.trees import ParsedDocument

_BIG = 150  # rows: a top-level node this long (a big class) is tagged member by member
FULL_EVERY = 64  # updates: a full one after this many partial ones

Import = tuple[int, str]  # (row, statement)


@dataclass(frozen=True, slots=True)
class _Part:
    """The tags of one node, rows relative to the node's first row."""

    definitions: tuple[Definition, ...]
    imports: tuple[Import, ...]
    words: frozenset[str]


def _body(node: tree_sitter.Node) -> tree_sitter.Node | None:
    inner = node.child_by_field_name("definition") or node  # decorators around a class
    return inner.child_by_field_name("body")


def _moved(d: Definition, rows: int) -> Definition:
    return Definition(d.name, d.kind, d.start + rows, d.end + rows, d.header_end + rows, d.scope)


class LiveTags:
    def __init__(self, language: Language) -> None:
        self.language = language
        self._parts: dict[bytes, _Part] = {}
        self.queried = 0  # nodes queried by the last update (for tests and benchmarks)
        self.partial = False  # whether the last update was a partial one
        # The last update's tags, if its tree had no syntax error (only those are kept).
        self._last: tuple[list[Definition], list[Import], set[str], int] | None = None
        self._partials = 0

    def update(
        self,
        tree: tree_sitter.Tree | ParsedDocument,
        data: bytes,
        dirty: tuple[int, int] | None = None,
    ) -> FileTags:
        """The tags of ``data`` (parsed as ``tree``: one tree, or a document's trees);
        ``dirty``: the byte range of ``data`` that holds every change since the previous
        update (None: unknown)."""
        self._fresh: dict[bytes, _Part] = {}
        self._definitions: list[Definition] = []
        self._imports: list[Import] = []
        self._words: set[str] = set()
        self.queried = 0
        if isinstance(tree, ParsedDocument):
            self._trees, self._starts = tree.trees, tree.starts
        else:
            self._trees, self._starts = (tree,), (0,)
        self._tree, self._data = self._trees[0], data
        has_error = any(t.root_node.has_error for t in self._trees)
        rows = self._trees[-1].root_node.end_point.row
        self.partial = (
            dirty is not None
            and self._last is not None
            and self._partials < FULL_EVERY
            and not has_error
            and self._update_part(rows, dirty)
        )
        if self.partial:
            self._partials += 1
            self._parts.update(self._fresh)
        else:
            self._partials = 0
            last = len(self._trees) - 1
            for i, segment in enumerate(self._trees):
                # (a text that fails to parse may have an ERROR root)
                root = segment.root_node
                start = self._starts[i] if i else root.start_byte
                end = self._starts[i + 1] if i < last else root.end_byte
                self._visit_all(root.children, start, end, 0, self._root_key(segment))
            self._parts = self._fresh  # only what the current text holds
            self._definitions.sort(key=lambda d: (d.start, d.end, d.name, d.kind))
            self._imports.sort(key=lambda i: i[0])
        definitions = list(dict.fromkeys(self._definitions))
        # Text after an edit may parse differently than when the tree had an error:
        # partial updates only start from a clean tree.
        self._last = None if has_error else (definitions, self._imports, self._words, rows)
        return FileTags(
            self.language.name,
            tuple(definitions),
            tuple(text for _, text in self._imports),
            frozenset(self._words),
        )

    @staticmethod
    def _root_key(tree: tree_sitter.Tree) -> bytes:
        return tree.root_node.type.encode() + b"\0"

    def _segment_of(self, byte: int) -> int:
        return max(0, bisect_right(self._starts, byte) - 1)

    def _update_part(self, new_rows: int, dirty: tuple[int, int]) -> bool:
        """Re-tag only the top-level nodes around ``dirty``; False if it cannot."""
        assert self._last is not None
        old_definitions, old_imports, old_words, old_rows = self._last
        shift = new_rows - old_rows
        lo, hi = dirty
        # The top-level nodes of the segments around the change (all: one tree). The
        # nodes looked at are at most one segment away from it, or this gives up.
        a = max(0, self._segment_of(lo) - 1)
        b = min(len(self._trees) - 1, self._segment_of(hi) + 1)
        tops = [c for tree in self._trees[a : b + 1] for c in tree.root_node.children]
        whole_left, whole_right = a == 0, b == len(self._trees) - 1
        if not tops:
            return False
        f = next((i for i, c in enumerate(tops) if c.end_byte > lo), None)
        if f is None:  # past the last node: only trailing text changed
            if not whole_right:
                return False
            f = len(tops) - 1
        if f > 0 and tops[f - 1].end_byte >= lo:
            f -= 1
        n = f
        while n + 1 < len(tops) and tops[n + 1].start_byte <= hi:
            n += 1
        first, last = tops[f], tops[n]
        # The rows that changed: those of the nodes and of the changed bytes themselves
        # (which may lie between nodes). Widen until no old definition crosses the edges
        # and no row is shared with a node outside.
        lo_row = self._data.count(b"\n", 0, lo)
        hi_row = lo_row + self._data.count(b"\n", lo, hi)

        def rows(first: tree_sitter.Node, last: tree_sitter.Node) -> tuple[int, int]:
            return min(first.start_point.row, lo_row), max(last.end_point.row, hi_row)

        while True:
            r0, r1 = rows(first, last)
            old_r1 = r1 - shift
            widened = False
            if f > 0 or not whole_left:
                if f == 0:
                    return False  # beyond the segments looked at
                previous = tops[f - 1]
                if previous.end_point.row >= r0 or any(
                    d.start < r0 <= d.end for d in old_definitions
                ):
                    f, widened = f - 1, True
            if n + 1 < len(tops) or not whole_right:
                if n + 1 == len(tops):
                    return False
                following = tops[n + 1]
                if following.start_point.row <= r1 or any(
                    d.start <= old_r1 < d.end for d in old_definitions
                ):
                    n, widened = n + 1, True
            first, last = tops[f], tops[n]
            if not widened:
                break
        nodes = tops[f : n + 1]
        self._words = set(old_words)
        self._visit_all(
            nodes,
            min(first.start_byte, lo),
            max(last.end_byte, hi),
            0,
            self._root_key(self._trees[0]),
        )
        r0, r1 = rows(first, last)
        old_r1 = r1 - shift
        middle = sorted(self._definitions, key=lambda d: (d.start, d.end, d.name, d.kind))
        self._definitions = [
            *(d for d in old_definitions if d.end < r0),
            *middle,
            *(_moved(d, shift) for d in old_definitions if d.start > old_r1),
        ]
        self._imports = [
            *(i for i in old_imports if i[0] < r0),
            *sorted(self._imports, key=lambda i: i[0]),
            *((row + shift, text) for row, text in old_imports if row > old_r1),
        ]
        return True

    def _visit_all(
        self, nodes: list[tree_sitter.Node], start: int, end: int, depth: int, within: bytes
    ) -> None:
        """Visit ``nodes``; the words of text between them (outside any node) count too."""
        at = start
        for node in nodes:
            if node.start_byte > at:
                self._words |= words_of(self._data[at : node.start_byte])
            self._visit(node, depth, within)
            at = max(at, node.end_byte)
        if end > at:
            self._words |= words_of(self._data[at:end])

    def _visit(self, node: tree_sitter.Node, depth: int, within: bytes) -> None:
        """Tag ``node``; ``within``: the headers of the containers it is in (the same
        text in two classes is two definitions)."""
        if depth == 0:  # the tree to query: the node's segment's
            self._tree = self._trees[self._segment_of(node.start_byte)]
        start_row, end_row = node.start_point.row, node.end_point.row
        body = _body(node) if depth < 3 and end_row - start_row > _BIG else None
        if body is not None:
            # The container's own definition, always queried (its end row moves with
            # edits): the definitions of the header range that span the whole body.
            header = (node.start_byte, body.start_byte)
            definitions, imports = extract_range(self.language, self._tree, self._data, header)
            self.queried += 1
            last = body.end_point.row
            self._definitions.extend(d for d in definitions if d.end >= last)
            self._imports.extend(imports)
            inner_within = b"%s%s\0%s\0" % (
                within,
                node.type.encode(),
                self._data[node.start_byte : body.start_byte],
            )
            # Members: everything but the body, and the body's children (a broken text
            # can leave definitions of the class outside its body).
            inner = node.child_by_field_name("definition") or node
            members: list[tree_sitter.Node] = []
            for outer in node.children if inner is not node else [node]:
                for child in inner.children if outer.id == inner.id else [outer]:
                    members.extend(body.children if child.id == body.id else [child])
            self._visit_all(members, node.start_byte, node.end_byte, depth + 1, inner_within)
            return
        chunk = self._data[node.start_byte : node.end_byte]
        key = hashlib.blake2b(
            b"%s\1%s\1%s" % (within, node.type.encode(), chunk), digest_size=16
        ).digest()
        # A node with a syntax error is always queried again: how tree-sitter recovers
        # depends on more than the node's own text.
        part = None if node.has_error else self._fresh.get(key) or self._parts.get(key)
        if part is None:
            part = self._tag(node)
            self.queried += 1
        self._fresh[key] = part
        if part.definitions:
            self._definitions.extend(_moved(d, start_row) for d in part.definitions)
        if part.imports:
            self._imports.extend((row + start_row, text) for row, text in part.imports)
        self._words |= part.words

    def _tag(self, node: tree_sitter.Node) -> _Part:
        span = (node.start_byte, node.end_byte)
        definitions, imports = extract_range(self.language, self._tree, self._data, span)
        row = node.start_point.row
        inside = [
            _moved(d, -row) for d in definitions if row <= d.start and d.end <= node.end_point.row
        ]
        relative = tuple((r - row, text) for r, text in imports)
        return _Part(tuple(inside), relative, words_of(self._data[span[0] : span[1]]))
