"""Tags of an open document, kept current from its incremental tree at little cost.

A document's top-level nodes (functions, classes, imports, statements) are tagged
one by one and remembered by their bytes: after an edit only the nodes whose text
changed are queried again; the others are reused, moved to their new rows. On a
10k-line file an edit inside one function re-queries that function, not the file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import tree_sitter

from agentls.context.languages import Language
from agentls.context.tags import Definition, FileTags, extract_range, words_of


@dataclass(frozen=True, slots=True)
class _Part:
    """The tags of one top-level node, rows relative to the node's first row."""

    definitions: tuple[Definition, ...]
    imports: tuple[str, ...]
    words: frozenset[str]


_BIG = 150  # rows: a top-level node this long (a big class) is tagged member by member


def _body(node: tree_sitter.Node) -> tree_sitter.Node | None:
    inner = node.child_by_field_name("definition") or node  # decorators around a class
    return inner.child_by_field_name("body")


class LiveTags:
    def __init__(self, language: Language) -> None:
        self.language = language
        self._parts: dict[bytes, _Part] = {}
        self.queried = 0  # nodes queried by the last update (for tests and benchmarks)

    def update(self, tree: tree_sitter.Tree, data: bytes) -> FileTags:
        self._fresh: dict[bytes, _Part] = {}
        self._definitions: list[Definition] = []
        self._imports: list[str] = []
        self._words: set[str] = set()
        self.queried = 0
        self._tree, self._data = tree, data
        root = tree.root_node
        # (a text that fails to parse may have an ERROR root)
        self._visit_all(
            root.children, root.start_byte, root.end_byte, 0, root.type.encode() + b"\0"
        )
        self._parts = self._fresh  # only what the current text holds
        definitions = sorted(self._definitions, key=lambda d: (d.start, d.end, d.name, d.kind))
        return FileTags(
            self.language.name,
            tuple(dict.fromkeys(definitions)),
            tuple(self._imports),
            frozenset(self._words),
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
            row = start_row
            self._definitions.extend(
                Definition(d.name, d.kind, d.start + row, d.end + row, d.header_end + row, d.scope)
                for d in part.definitions
            )
        self._imports.extend(part.imports)
        self._words |= part.words

    def _tag(self, node: tree_sitter.Node) -> _Part:
        span = (node.start_byte, node.end_byte)
        definitions, imports = extract_range(self.language, self._tree, self._data, span)
        row = node.start_point.row
        inside = [
            Definition(d.name, d.kind, d.start - row, d.end - row, d.header_end - row, d.scope)
            for d in definitions
            if row <= d.start and d.end <= node.end_point.row
        ]
        return _Part(tuple(inside), imports, words_of(self._data[span[0] : span[1]]))
