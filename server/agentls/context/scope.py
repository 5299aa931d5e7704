"""Which text a focused rewrite replaces, found with tree-sitter.

An empty range means the enclosing function or class. An instruction comment on
its own line just above a definition belongs to that definition; one inside a
function belongs to the function; anywhere else it stands for itself (the model
writes code in its place).
"""

from __future__ import annotations

from dataclasses import dataclass

import tree_sitter

from agentls.context.instructions import Instruction, find_instruction
from agentls.context.languages import WRAPPERS, Language, comment_markers
from agentls.context.trees import ParsedDocument, parse_text
from agentls.edits.text import line_bounds


@dataclass(frozen=True)
class Target:
    start: int
    end: int
    what: str  # "selection", "function", "class", "line", "comment"
    instruction: Instruction | None = None
    comment_line: str | None = None  # the instruction comment line, to drop from the output


def _widen(node: tree_sitter.Node) -> tree_sitter.Node:
    while node.parent is not None and node.parent.type in WRAPPERS:
        node = node.parent
    return node


def _kind(node: tree_sitter.Node) -> str:
    return (
        "class"
        if any(
            w in node.type
            for w in ("class", "impl", "struct", "interface", "trait", "enum", "type")
        )
        else "function"
    )


class ScopeFinder:
    """Scopes of ``text``, from ``parsed`` (the document's current tree, see
    ``DocumentTrees``) when it is the tree of this very text, else from a fresh parse."""

    def __init__(
        self, text: str, lang: Language | None, parsed: ParsedDocument | None = None
    ) -> None:
        self.text = text
        self.lang = lang
        if parsed is not None and (parsed.text is not text and parsed.text != text):
            parsed = None  # the tree of another text: of no use here
        if parsed is None and lang is not None:
            parsed = parse_text(text, lang)
        self.parsed = parsed

    def _byte(self, offset: int) -> int:
        assert self.parsed is not None
        return self.parsed.byte_offset(offset)

    def _char(self, byte: int) -> int:
        assert self.parsed is not None
        return self.parsed.char_offset(byte)

    def enclosing(self, offset: int) -> tree_sitter.Node | None:
        if self.parsed is None or self.lang is None:
            return None
        node = self.parsed.node_at(self._byte(offset))  # a big document's: in its segment
        while node is not None:
            if node.type in self.lang.scopes:
                return _widen(node)
            node = node.parent
        return None

    def starting_at(self, offset: int) -> tree_sitter.Node | None:
        """A definition that starts on the line holding ``offset``."""
        if self.parsed is None or self.lang is None:
            return None
        node = self.parsed.node_at(self._byte(offset))
        row = self.text.count("\n", 0, offset)
        while node is not None and node.start_point.row == row:
            if self._defines(node):
                return _widen(node)
            node = node.parent
        return None

    def _defines(self, node: tree_sitter.Node, depth: int = 0) -> bool:
        assert self.lang is not None
        if node.type in self.lang.scopes:
            return True
        if node.type not in WRAPPERS or depth > 3:
            return False
        return any(self._defines(child, depth + 1) for child in node.named_children)

    def span(self, node: tree_sitter.Node) -> tuple[int, int]:
        return line_bounds(self.text, self._char(node.start_byte), self._char(node.end_byte))


def resolve_target(
    text: str,
    lang: Language | None,
    start: int,
    end: int,
    parsed: ParsedDocument | None = None,
) -> Target:
    """The region to rewrite for a request on ``[start, end)``; ``parsed``: the current
    tree of ``text``, if there is one (else the text is parsed here)."""
    if end > start:
        return Target(start, end, "selection")
    finder = ScopeFinder(text, lang, parsed)
    line_start, line_end = line_bounds(text, start, start)
    line = text[line_start:line_end].rstrip("\r\n")
    instruction = find_instruction(line, comment_markers(lang))
    scope = finder.enclosing(start)
    if instruction is not None and instruction.standalone:
        following = _next_code_line(text, line_end)
        definition = finder.starting_at(following) if following is not None else None
        if definition is not None:
            _, def_end = finder.span(definition)
            return Target(line_start, def_end, _kind(definition), instruction, line)
        if scope is not None:
            s, e = finder.span(scope)
            return Target(s, e, _kind(scope), instruction, line)
        return Target(line_start, line_end, "comment", instruction, line)
    if scope is not None:
        s, e = finder.span(scope)
        return Target(s, e, _kind(scope), instruction, line if instruction else None)
    return Target(line_start, line_end, "line", instruction, line if instruction else None)


def _next_code_line(text: str, offset: int) -> int | None:
    """Offset of the first non-blank character at or after ``offset``."""
    for i in range(offset, len(text)):
        if not text[i].isspace():
            return i
    return None
