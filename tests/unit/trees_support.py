"""What the tree tests (tests/unit/test_trees*.py) share: a document store with trees
listening, a fresh parse, and every node of a tree to compare two trees by."""

from __future__ import annotations

import tree_sitter

from agentls.context.languages import parser_for
from agentls.context.trees import DocumentTrees, encode
from agentls.edits.documents import DocumentStore

URI = "file:///w/a.py"


def nodes(tree: tree_sitter.Tree) -> list[tuple[str, int, int, tuple[int, int], tuple[int, int]]]:
    """Every node with its bytes and points, in document order."""
    out = []
    cursor = tree.walk()
    while True:
        node = cursor.node
        assert node is not None
        out.append((node.type, node.start_byte, node.end_byte, node.start_point, node.end_point))
        if cursor.goto_first_child() or cursor.goto_next_sibling():
            continue
        while cursor.goto_parent():
            if cursor.goto_next_sibling():
                break
        else:
            return out


def fresh(text: str) -> tree_sitter.Tree:
    return parser_for("python").parse(encode(text))


def store_with_trees(text: str, **options: object) -> tuple[DocumentStore, DocumentTrees]:
    store = DocumentStore()
    trees = DocumentTrees(idle_reparse=None, **options)  # type: ignore[arg-type]
    store.listeners.append(trees)
    store.open(URI, 1, text, "python")
    return store, trees
