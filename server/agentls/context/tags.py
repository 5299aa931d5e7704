"""Tags of one file: its definitions, the names it uses, and its imports.

The tree-sitter queries are data (``queries/<language>-tags.scm``): a pattern
captures a whole definition as ``@definition.<kind>`` with its ``@name``, or a whole
import statement as ``@import``. References are every identifier-like word of the
file, found at C speed with a regular expression: the index only needs to know
which names a file uses, and intersects them with the names something defines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import NamedTuple

import tree_sitter

from agentls.context.languages import LANGUAGES, Language, grammar_for, parser_for

_IDENTIFIER = re.compile(rb"[A-Za-z_$][A-Za-z0-9_$]*")

# Node types that open a scope a definition can belong to (for "Class.method").
_CONTAINERS = frozenset(
    {
        "class_definition",
        "class_declaration",
        "class_specifier",
        "struct_specifier",
        "abstract_class_declaration",
        "interface_declaration",
        "impl_item",
        "trait_item",
        "record_declaration",
        "enum_declaration",
        "namespace_definition",
        "mod_item",
    }
)


class Definition(NamedTuple):
    """A definition: 0-based rows; ``header_end`` is the last row of its signature.

    A tuple of strings and numbers: the garbage collector stops tracking it, so a big
    index costs nothing in collection pauses."""

    name: str
    kind: str  # function, method, class, interface, type, constant, field, module, macro
    start: int
    end: int
    header_end: int
    scope: str = ""  # the enclosing class (or impl, namespace) name, if any


@dataclass(frozen=True, slots=True)
class FileTags:
    language: str
    definitions: tuple[Definition, ...]
    imports: tuple[str, ...]  # the text of each import statement, whitespace folded
    names: frozenset[str]  # every identifier-like word in the file


def query_source(name: str) -> str:
    """A query file's text; a first line ``; inherits: other`` puts ``other-tags.scm`` first
    (TypeScript's grammar holds JavaScript's, so its query only adds what JS lacks)."""
    text = resources.files("agentls.context").joinpath("queries", name).read_text()
    first = text.split("\n", 1)[0]
    if first.startswith("; inherits:"):
        parent = first.removeprefix("; inherits:").strip()
        return query_source(f"{parent}-tags.scm") + "\n" + text
    return text


@cache
def tags_query(language: str) -> tree_sitter.Query:
    source = query_source(LANGUAGES[language].tags_query)
    return tree_sitter.Query(grammar_for(language), source)


def _header_end(node: tree_sitter.Node) -> int:
    body = node.child_by_field_name("body")
    if body is None:  # a short definition is its own signature; a long one, its first line
        span = node.end_point.row - node.start_point.row
        return node.end_point.row if span <= 2 else node.start_point.row
    before = body.prev_sibling
    if before is not None and before.end_point.row >= node.start_point.row:
        return max(before.end_point.row, node.start_point.row)
    return body.start_point.row


def _scope(node: tree_sitter.Node, data: bytes) -> str:
    if node.type == "method_declaration":  # Go: func (m *Mux) Get(...): the receiver's type
        receiver = node.child_by_field_name("receiver")
        stack = [receiver] if receiver is not None else []
        while stack:
            child = stack.pop()
            if child.type == "type_identifier":
                return data[child.start_byte : child.end_byte].decode("utf-8", "replace")
            stack.extend(reversed(child.children))
    parent = node.parent
    while parent is not None:
        if parent.type in _CONTAINERS and parent is not node:
            name = parent.child_by_field_name("name") or parent.child_by_field_name("type")
            if name is not None:
                return data[name.start_byte : name.end_byte].decode("utf-8", "replace")
        parent = parent.parent
    return ""


def extract(lang: Language, tree: tree_sitter.Tree, data: bytes) -> FileTags:
    """The tags of a parsed file, in document order."""
    definitions, imports = extract_range(lang, tree, data)
    return FileTags(lang.name, definitions, tuple(text for _, text in imports), words_of(data))


def words_of(data: bytes) -> frozenset[str]:
    return frozenset(word.decode("ascii") for word in set(_IDENTIFIER.findall(data)))


def extract_range(
    lang: Language,
    tree: tree_sitter.Tree,
    data: bytes,
    byte_range: tuple[int, int] | None = None,
) -> tuple[tuple[Definition, ...], tuple[tuple[int, str], ...]]:
    """Definitions and imports (with their rows) of a tree, or of its part in ``byte_range``."""
    definitions: list[Definition] = []
    imports: list[tuple[int, str]] = []
    cursor = tree_sitter.QueryCursor(tags_query(lang.name))
    if byte_range is not None:
        cursor.set_byte_range(*byte_range)
    for _, captures in cursor.matches(tree.root_node):
        if "import" in captures:
            node = captures["import"][0]
            if byte_range is not None and not byte_range[0] <= node.start_byte < byte_range[1]:
                continue  # a neighbour's, touching the range
            text = data[node.start_byte : node.end_byte].decode("utf-8", "replace")
            imports.append((node.start_point.row, " ".join(text.split())))
            continue
        names = captures.get("name")
        if not names:
            continue
        for capture, nodes in captures.items():
            if not capture.startswith("definition."):
                continue
            node = nodes[0]
            if byte_range is not None and not byte_range[0] <= node.start_byte < byte_range[1]:
                continue
            name_node = names[0]
            definitions.append(
                Definition(
                    name=data[name_node.start_byte : name_node.end_byte].decode("utf-8", "replace"),
                    kind=capture.removeprefix("definition."),
                    start=node.start_point.row,
                    end=node.end_point.row,
                    header_end=_header_end(node),
                    scope=_scope(node, data),
                )
            )
    definitions.sort(key=lambda d: (d.start, d.end, d.name, d.kind))
    return tuple(dict.fromkeys(definitions)), tuple(imports)  # imports: (row, text)


def tag_source(lang: Language, data: bytes) -> FileTags:
    return extract(lang, parser_for(lang.name).parse(data), data)
