"""Per-document incremental trees: always the tree of exactly the snapshot asked for."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentls.context.languages import LANGUAGES, parser_for
from agentls.context.scope import resolve_target
from agentls.context.trees import DocumentTrees, ParsedDocument, encode
from agentls.edits.documents import DocumentStore
from agentls.edits.text import TextChange
from tests.unit.trees_support import URI, fresh, nodes, store_with_trees

PY = '''import os


class Shape:
    """Shapes — «形状» 🚀."""

    def area(self, x: int) -> int:
        label = "数据 👩‍💻 data"
        return x * x  # ✓ done

    def name(self):
        return "shape"


def main():
    for i in range(3):
        print(Shape().area(i), "🚀")
'''


# Pieces of Python and of text that move the tree around: new lines and blocks,
# brackets and quotes left open, emoji outside the BMP, CJK, a lone CR, CRLF.
PIECES = st.sampled_from(
    [
        "",
        "x",
        " ",
        "\n",
        "    ",
        "def g(a):\n    return a\n",
        "(",
        ")",
        '"',
        "# 数据\n",
        "🚀",
        "👩‍💻",
        "数据处理",
        "é",
        "\r\n",
        "\r",
        ":",
        "class K:\n    pass\n",
        "if x:\n        y = '🚀'\n",
    ]
)


@st.composite
def edits(draw: st.DrawFn, text: str) -> list[tuple[float, float, str]]:
    """Edits as fractions of the current length, so they fit any text."""
    return draw(
        st.lists(
            st.tuples(
                st.floats(0, 1),
                st.floats(0, 0.05),
                st.lists(PIECES, max_size=3).map("".join),
            ),
            min_size=1,
            max_size=12,
        )
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits(PY), st.integers(1, 4))
def test_incremental_tree_equals_a_fresh_parse(
    script: list[tuple[float, float, str]], batch: int
) -> None:
    store, trees = store_with_trees(PY)
    text = PY
    for i, (at, length, new) in enumerate(script):
        start = int(at * len(text))
        end = min(len(text), start + int(length * len(text)))
        change = TextChange(start, end, new)
        text = text[:start] + new + text[end:]
        store.change(URI, i + 2, [change])
        snapshot = store.snapshot(URI)
        assert snapshot.text == text
        if i % batch == 0 or i == len(script) - 1:  # sometimes several edits pile up
            parsed = trees.get(snapshot)
            assert parsed is not None
            assert parsed.data == encode(text)
            assert parsed.version == snapshot.version and parsed.seq == snapshot.seq
            # one tree: exact when clean; with an error tree-sitter's incremental
            # recovery may differ from a fresh parse's (found by this test)
            expected = fresh(text)
            if expected.root_node.has_error:
                assert parsed.tree.root_node.has_error
                assert parsed.tree.root_node.end_byte == expected.root_node.end_byte
                continue
            assert str(parsed.tree.root_node) == str(expected.root_node)
            assert nodes(parsed.tree) == nodes(expected)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(["a", "é", "数", "🚀", "\n", " ", "\r\n", "\ud800"]), max_size=60).map(
        "".join
    ),
    st.data(),
)
def test_byte_and_code_point_offsets_convert_both_ways(text: str, data: st.DataObject) -> None:
    tree = parser_for("python").parse(encode(text))
    parsed = ParsedDocument(URI, 0, 0, LANGUAGES["python"], (tree,), encode(text), text)
    offset = data.draw(st.integers(0, len(text)))
    byte = parsed.byte_offset(offset)
    assert byte == len(text[:offset].encode("utf-8", "surrogatepass"))
    assert parsed.char_offset(byte) == offset


def test_offsets_across_table_blocks() -> None:
    text = ("数据🚀 abc\n" * 2000)[:-1]
    parsed = ParsedDocument(URI, 0, 0, LANGUAGES["python"], (fresh(text),), encode(text), text)
    for offset in (0, 1, 2047, 2048, 2049, 4100, 9999, len(text) - 1, len(text)):
        byte = len(text[:offset].encode())
        assert parsed.byte_offset(offset) == byte
        assert parsed.char_offset(byte) == offset
    # A byte inside a character maps to that character's start.
    assert parsed.char_offset(1) == 0 and parsed.char_offset(4) == 1


def test_get_returns_the_tree_of_exactly_that_snapshot() -> None:
    store, trees = store_with_trees(PY)
    first = store.snapshot(URI)
    parsed_first = trees.get(first)
    assert parsed_first is not None and parsed_first.text == PY
    at = PY.index("return x * x")
    store.change(URI, 2, [TextChange(at, at, "y = 1\n        ")])
    second = store.snapshot(URI)
    parsed = trees.get(second)
    assert parsed is not None and parsed.version == 2 and parsed.text == second.text
    assert str(parsed.tree.root_node) == str(fresh(second.text).root_node)
    # The first tree was handed out: it was not edited in place.
    assert str(parsed_first.tree.root_node) == str(fresh(PY).root_node)
    # A caller one step behind still gets the tree of its text.
    again = trees.get(first)
    assert again is not None and again.text == PY
    assert str(again.tree.root_node) == str(fresh(PY).root_node)


def test_changes_are_only_recorded_until_someone_asks() -> None:
    store, trees = store_with_trees(PY)
    for i in range(20):
        at = PY.index("return x * x")
        store.change(URI, i + 2, [TextChange(at, at, f"v{i} = {i}\n        ")])
    assert trees.reparses == 0
    parsed = trees.get(store.snapshot(URI))
    assert parsed is not None and trees.reparses == 1
    assert str(parsed.tree.root_node) == str(fresh(store.snapshot(URI).text).root_node)


def test_several_changes_in_one_didchange_and_a_full_replacement() -> None:
    store, trees = store_with_trees(PY)
    a, b = PY.index("import os"), PY.index("def main")
    # Back to front, as an editor sends them: each against the text the previous left.
    store.change(URI, 2, [TextChange(b, b, "# 🚀 main\n"), TextChange(a, a, "import sys\n")])
    snapshot = store.snapshot(URI)
    parsed = trees.get(snapshot)
    assert parsed is not None
    assert nodes(parsed.tree) == nodes(fresh(snapshot.text))
    store.change(URI, 3, [snapshot.text.replace("Shape", "Form")])
    snapshot = store.snapshot(URI)
    parsed = trees.get(snapshot)
    assert parsed is not None and "Form" in parsed.text
    assert nodes(parsed.tree) == nodes(fresh(snapshot.text))


def test_a_big_document_is_parsed_in_the_background_and_changes_meanwhile_count() -> None:
    big = PY * 200
    store, trees = store_with_trees(big, background_bytes=1000)
    at = big.index("return x * x")
    store.change(URI, 2, [TextChange(at, at, "z = '数据'\n        ")])  # maybe before the parse
    snapshot = store.snapshot(URI)
    parsed = trees.get(snapshot)
    assert parsed is not None and parsed.seq == snapshot.seq
    assert nodes(parsed.tree) == nodes(fresh(snapshot.text))
    trees.shutdown()


def test_no_tree_for_a_language_without_grammar_and_none_after_close() -> None:
    store = DocumentStore()
    trees = DocumentTrees(idle_reparse=None)
    store.listeners.append(trees)
    store.open("file:///w/notes.txt", 1, "# agent: hello\n", "plaintext")
    assert trees.get(store.snapshot("file:///w/notes.txt")) is None
    store.open(URI, 1, PY, "python")
    assert trees.current(URI) is not None
    store.close(URI)
    assert trees.current(URI) is None


def test_reopened_document_starts_over() -> None:
    store, trees = store_with_trees(PY)
    store.open(URI, 1, "def other():\n    pass\n", "python")
    parsed = trees.get(store.snapshot(URI))
    assert parsed is not None and "other" in parsed.text
    assert nodes(parsed.tree) == nodes(fresh("def other():\n    pass\n"))


async def test_a_quiet_document_is_reparsed_on_the_loop() -> None:
    store = DocumentStore()
    trees = DocumentTrees(idle_reparse=0.01)
    store.listeners.append(trees)
    store.open(URI, 1, PY, "python")
    at = PY.index("return x * x")
    store.change(URI, 2, [TextChange(at, at, "w = 2\n        ")])
    for _ in range(500):
        if trees.reparses:
            break
        await asyncio.sleep(0.01)
    assert trees.reparses == 1
    parsed = trees.get(store.snapshot(URI))  # already current: no other reparse
    assert parsed is not None and trees.reparses == 1
    assert nodes(parsed.tree) == nodes(fresh(store.snapshot(URI).text))


def test_scope_from_the_current_tree_matches_a_fresh_parse() -> None:
    store, trees = store_with_trees(PY)
    at = PY.index("label")
    store.change(URI, 2, [TextChange(0, 0, "# 🚀🚀 数据\n")])
    snapshot = store.snapshot(URI)
    parsed = trees.get(snapshot)
    lang = LANGUAGES["python"]
    with_tree = resolve_target(snapshot.text, lang, at + 10, at + 10, parsed)
    without = resolve_target(snapshot.text, lang, at + 10, at + 10)
    assert with_tree == without
    assert snapshot.text[with_tree.start : with_tree.end].startswith("    def area(")
