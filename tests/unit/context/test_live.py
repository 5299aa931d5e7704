"""Tags of an open document kept from its tree node by node equal a fresh tagging."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from agentls.context.languages import LANGUAGES, parser_for
from agentls.context.live import LiveTags
from agentls.context.tags import Definition, FileTags, extract, tag_source, words_of
from agentls.context.trees import DocumentTrees, ParsedDocument
from agentls.edits.documents import DocumentStore
from agentls.edits.text import TextChange

METHODS = "".join(
    f"    def m{i}(self, x):\n        '''Method {i} 数据🚀.'''\n        return helper_{i}(x)\n\n"
    for i in range(60)
)
SOURCE = (
    "import os\nfrom .util import helper_1, helper_2\n\nLIMIT = 3\n\n\n"
    f"class Big(Base):\n    kind = 'big'\n\n{METHODS}\n"
    "class Small:\n    kind = 'big'\n\n    def m1(self):\n        return 1\n\n\n"
    "def tail(a, b):\n    return a + b\n"
)
SNIPPETS = st.sampled_from(
    [
        "",
        "x",
        "\n",
        "def new(self):\n        pass\n",
        "class Extra:\n    pass\n",
        "    ",
        "'''",
        "数据🚀",
        "import sys\n",
        "(",
        "):\n",
        "\n\n\ndef top():\n    return 0\n",
    ]
)


def own_tags(parsed: ParsedDocument) -> FileTags:
    """A fresh tagging of a document's own trees (each segment's, in order)."""
    lang = LANGUAGES["python"]
    definitions: list[Definition] = []
    imports: list[str] = []
    for tree in parsed.trees:
        tags = extract(lang, tree, parsed.data)
        definitions += tags.definitions
        imports += tags.imports
    return FileTags(
        "python", tuple(dict.fromkeys(definitions)), tuple(imports), words_of(parsed.data)
    )


def fresh(text: str) -> object:
    return tag_source(LANGUAGES["python"], text.encode("utf-8", "surrogatepass"))


def test_first_update_equals_a_fresh_tagging_and_an_edit_queries_little() -> None:
    live = LiveTags(LANGUAGES["python"])
    parser = parser_for("python")
    data = SOURCE.encode()
    assert live.update(parser.parse(data), data) == fresh(SOURCE)
    edited = SOURCE.replace("return helper_30(x)", "return helper_30(x) + 1")
    new = edited.encode()
    assert live.update(parser.parse(new), new) == fresh(edited)
    assert live.queried <= 3  # the changed method and the big class's header, not the file


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 40), SNIPPETS), max_size=6))
@example([(0, 40, ""), (7994, 3, "x"), (38, 0, "import sys\n")])  # an import inside an ERROR
def test_random_edits_keep_the_tags_equal_to_a_fresh_tagging(
    edits: list[tuple[int, int, str]],
) -> None:
    live = LiveTags(LANGUAGES["python"])
    parser = parser_for("python")
    text = SOURCE
    tree = parser.parse(text.encode())
    live.update(tree, text.encode())
    for at, length, insert in edits:
        at = at % (len(text) + 1)
        text = text[:at] + insert + text[at + length :]
        data = text.encode("utf-8", "surrogatepass")
        tree = parser.parse(data)
        assert live.update(tree, data) == fresh(text)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 40), SNIPPETS), max_size=8))
def test_partial_updates_around_the_changed_bytes_keep_definitions_exact(
    edits: list[tuple[int, int, str]],
) -> None:
    live = LiveTags(LANGUAGES["python"])
    parser = parser_for("python")
    text = SOURCE
    live.update(parser.parse(text.encode()), text.encode())
    for at, length, insert in edits:
        at = at % (len(text) + 1)
        text = text[:at] + insert + text[at + length :]
        data = text.encode("utf-8", "surrogatepass")
        lo = len(text[:at].encode("utf-8", "surrogatepass"))
        dirty = (lo, lo + len(insert.encode("utf-8", "surrogatepass")))
        got = live.update(parser.parse(data), data, dirty)
        want = fresh(text)
        assert got.definitions == want.definitions  # type: ignore[attr-defined]
        assert got.imports == want.imports  # type: ignore[attr-defined]
        assert got.names >= want.names  # type: ignore[attr-defined]


def test_a_partial_update_visits_only_the_nodes_around_the_change() -> None:
    live = LiveTags(LANGUAGES["python"])
    parser = parser_for("python")
    data = SOURCE.encode()
    live.update(parser.parse(data), data)
    at = SOURCE.index("def tail")
    text = SOURCE[:at] + "# note\n" + SOURCE[at:]
    new = text.encode()
    got = live.update(parser.parse(new), new, (at, at + 7))
    assert live.partial and live.queried <= 2
    assert got.definitions == fresh(text).definitions  # type: ignore[attr-defined]


BIG = SOURCE + "".join(
    f"\n\n@cached\ndef top_{i}(x):\n    import json\n    return helper_{i}(x)\n" for i in range(30)
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 40), SNIPPETS), max_size=8))
def test_a_segmented_document_tags_like_a_fresh_tagging(
    edits: list[tuple[int, int, str]],
) -> None:
    """The trees of a big document in segments (small ones here): full and partial
    updates give the tags of a fresh tagging of the text, with a syntax error kept in
    its segment too."""
    store = DocumentStore()
    trees = DocumentTrees(idle_reparse=None, segment_above=300, segment_bytes=200)
    store.listeners.append(trees)
    uri = "file:///w/big.py"
    store.open(uri, 1, BIG, "python")
    live = LiveTags(LANGUAGES["python"])
    parsed = trees.get(store.snapshot(uri))
    assert parsed is not None and len(parsed.trees) > 3
    assert live.update(parsed, parsed.data) == fresh(BIG)
    text = BIG
    for version, (at, length, insert) in enumerate(edits, start=2):
        at = at % (len(text) + 1)
        store.change(uri, version, [TextChange(at, min(len(text), at + length), insert)])
        text = text[:at] + insert + text[at + length :]
        parsed = trees.get(store.snapshot(uri))
        assert parsed is not None and parsed.text == text
        lo = parsed.byte_offset(at)
        got = live.update(parsed, parsed.data, (lo, parsed.byte_offset(at + len(insert))))
        want = fresh(text)
        if parsed.has_error:
            # The document's own trees: one whole tree (a segment BROKEN), reparsed
            # incrementally, whose recovery from an error may differ from a fresh
            # parse's; or segments with a LOCAL error, each a fresh parse of its range,
            # whose recovery may differ from a whole parse's. Tags of those trees.
            want = own_tags(parsed)
        assert got.definitions == want.definitions  # type: ignore[attr-defined]
        assert got.imports == want.imports  # type: ignore[attr-defined]
        assert got.names >= want.names  # type: ignore[attr-defined]
        assert live.update(parsed, parsed.data) == want  # a full update: exact


def test_a_syntax_error_kept_in_its_segment_re_tags_only_that_segment() -> None:
    """Typing ``x = 1`` in a function body of a segmented document: at ``x =`` (a LOCAL
    error) only that segment is re-tagged, the tags are a fresh tagging's; after the
    document was one tree at rest, the next keystroke again re-tags one segment."""
    store = DocumentStore()
    trees = DocumentTrees(idle_reparse=None, segment_above=300, segment_bytes=200)
    store.listeners.append(trees)
    uri = "file:///w/big.py"
    store.open(uri, 1, BIG, "python")
    live = LiveTags(LANGUAGES["python"])
    parsed = trees.get(store.snapshot(uri))
    assert parsed is not None
    live.update(parsed, parsed.data)
    at = BIG.index("return helper_20(x)", BIG.index("def top_0")) + len("return helper_20(x)")
    text, version = BIG, 1
    errors = 0
    for piece in ["\n    ", *"x = 1"]:
        version += 1
        store.change(uri, version, [TextChange(at, at, piece)])
        text, at = text[:at] + piece + text[at:], at + len(piece)
        parsed = trees.get(store.snapshot(uri))
        assert parsed is not None and len(parsed.trees) > 3
        assert live.update(parsed, parsed.data) == fresh(text)
        segment = parsed.trees[parsed.segment_of(parsed.byte_offset(at))]
        # that segment's nodes at most (its node with the error always), no others
        assert parsed.has_error <= live.queried <= segment.root_node.child_count
        errors += parsed.has_error
        if parsed.has_error:  # at rest: one tree, tagged whole
            rested = trees.rest(uri)
            assert rested is not None and len(rested.trees) == 1
            assert live.update(rested, rested.data) == fresh(text)
    assert errors == 2
