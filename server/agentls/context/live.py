"""Tags of an open document, kept current from its incremental tree at little cost.

A document's top-level nodes (functions, classes, imports, statements) are tagged
one by one and remembered by their bytes: a full update queries only the nodes whose
text is new and reuses the others, moved to their new rows; a big class is tagged
member by member. When the caller says which bytes changed since the last update
(``dirty``), only the top-level nodes around them are visited at all: the tags
before them are kept, those after them are moved by the change in line count. Names
(``FileTags.names``) only grow on that path; every ``FULL_EVERY``-th update is a
full one, which makes them exact again.

A big document's tree comes in segments (``ParsedDocument.trees``, see ``trees.py``).
Its tags are those of its segments, each remembered by its bytes: an update re-tags
(node by node, as above) only the segments whose text is new, moves the others to
their new rows, and is exact every time (no ``dirty`` needed, no periodic full one).
A syntax error kept in its segment (LOCAL, see ``trees.py``) re-tags that segment
only; the segments' tags are kept while the document is one tree (a BROKEN segment,
or at rest with an error), for when it is back in segments.
"""

from __future__ import annotations

import hashlib
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


@dataclass(slots=True)
class _Segment:
    """The tags of one segment of a big document: rows relative to the segment's first
    row in ``part``, and at the rows it was last seen at (most segments do not move)."""

    part: _Part
    nodes: dict[bytes, _Part]  # its top-level nodes' parts (for its next re-tagging)
    row: int = -1
    definitions: tuple[Definition, ...] = ()
    imports: tuple[Import, ...] = ()

    def at(self, row: int) -> _Segment:
        if row != self.row:
            self.row = row
            self.definitions = tuple(_moved(d, row) for d in self.part.definitions)
            self.imports = tuple((r + row, text) for r, text in self.part.imports)
        return self


class LiveTags:
    def __init__(self, language: Language) -> None:
        self.language = language
        self._parts: dict[bytes, _Part] = {}
        self._segments: dict[bytes, _Segment] = {}  # a segmented document's, by their bytes
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
        """The tags of ``data`` (parsed as ``tree``: one tree, or a document's); ``dirty``:
        the byte range of ``data`` that holds every change since the previous update
        (None: unknown; of no use for a segmented document)."""
        self._fresh: dict[bytes, _Part] = {}
        self._definitions: list[Definition] = []
        self._imports: list[Import] = []
        self._words: set[str] = set()
        self.queried = 0
        self._data = data
        if isinstance(tree, ParsedDocument):
            if len(tree.trees) > 1:
                return self._update_segments(tree)
            tree = tree.trees[0]
        # (``_segments`` kept: a segmented document is one tree at rest with a syntax
        # error, and back in segments at the next keystroke, which re-tags one segment)
        self._tree = tree
        root = tree.root_node
        rows = root.end_point.row
        self.partial = (
            dirty is not None
            and self._last is not None
            and self._partials < FULL_EVERY
            and not root.has_error
            and self._update_part(root, dirty)
        )
        if self.partial:
            self._partials += 1
            self._parts.update(self._fresh)
        else:
            self._partials = 0
            # (a text that fails to parse may have an ERROR root)
            self._visit_all(root.children, root.start_byte, root.end_byte, 0, self._root_key())
            self._parts = self._fresh  # only what the current text holds
            self._definitions.sort(key=lambda d: (d.start, d.end, d.name, d.kind))
            self._imports.sort(key=lambda i: i[0])
        definitions = list(dict.fromkeys(self._definitions))
        # Once each, like the definitions: a node inside an ERROR can be visited twice.
        self._imports = list(dict.fromkeys(self._imports))
        # Text after an edit may parse differently than when the tree had an error:
        # partial updates only start from a clean tree.
        self._last = None if root.has_error else (definitions, self._imports, self._words, rows)
        return FileTags(
            self.language.name,
            tuple(definitions),
            tuple(text for _, text in self._imports),
            frozenset(self._words),
        )

    def _root_key(self) -> bytes:
        return self._tree.root_node.type.encode() + b"\0"

    def _update_part(self, root: tree_sitter.Node, dirty: tuple[int, int]) -> bool:
        """Re-tag only the top-level nodes around ``dirty``; False if it cannot."""
        assert self._last is not None
        old_definitions, old_imports, old_words, old_rows = self._last
        shift = root.end_point.row - old_rows
        lo, hi = dirty
        first = root.first_child_for_byte(lo)
        if first is None:  # past the last node: only trailing text changed
            first = root.child(root.child_count - 1) if root.child_count else None
            if first is None:
                return False
        previous = first.prev_sibling
        if previous is not None and previous.end_byte >= lo:
            first = previous
        last = first
        while last.next_sibling is not None and last.next_sibling.start_byte <= hi:
            last = last.next_sibling
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
            previous = first.prev_sibling
            if previous is not None and (
                previous.end_point.row >= r0 or any(d.start < r0 <= d.end for d in old_definitions)
            ):
                first, widened = previous, True
            following = last.next_sibling
            if following is not None and (
                following.start_point.row <= r1
                or any(d.start <= old_r1 < d.end for d in old_definitions)
            ):
                last, widened = following, True
            if not widened:
                break
        nodes: list[tree_sitter.Node] = []
        node: tree_sitter.Node | None = first
        while node is not None:
            nodes.append(node)
            if node.id == last.id:
                break
            node = node.next_sibling
        self._words = set(old_words)
        self._visit_all(
            nodes, min(first.start_byte, lo), max(last.end_byte, hi), 0, self._root_key()
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

    def _update_segments(self, parsed: ParsedDocument) -> FileTags:
        """Tags of a segmented document: a segment's tags are kept while its bytes are."""
        definitions: list[Definition] = []
        imports: list[Import] = []
        words: set[str] = set()
        segments: dict[bytes, _Segment] = {}
        retagged = False
        for i, tree in enumerate(parsed.trees):
            start, end = parsed.segment_span(i)
            chunk = self._data[start:end]
            root = tree.root_node
            first = root.child(0)
            # the segment's first row (its start is at a line start)
            row = 0
            if first is not None:
                row = first.start_point.row - chunk.count(b"\n", 0, first.start_byte - start)
            segment = self._segments.get(chunk) or segments.get(chunk)
            if segment is None:
                self._tree, self._definitions, self._imports = tree, [], []
                self._words, self._fresh = set(), {}
                self._visit_all(root.children, start, end, 0, self._root_key())
                self._definitions.sort(key=lambda d: (d.start, d.end, d.name, d.kind))
                part = _Part(
                    tuple(_moved(d, -row) for d in dict.fromkeys(self._definitions)),
                    tuple((r - row, text) for r, text in self._imports),
                    frozenset(self._words),
                )
                segment, retagged = _Segment(part, self._fresh), True
            segments[chunk] = segment.at(row)
            definitions.extend(segment.definitions)
            imports.extend(segment.imports)
            words |= segment.part.words
        self._segments = segments
        if retagged:  # the node parts of the segments the text holds
            self._parts = {k: p for s in segments.values() for k, p in s.nodes.items()}
        self.partial = self.queried < len(self._parts)
        self._last = None  # (a single tree's next update is a full one)
        return FileTags(
            self.language.name,
            tuple(dict.fromkeys(definitions)),
            tuple(text for _, text in imports),
            frozenset(words),
        )

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
