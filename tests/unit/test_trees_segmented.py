"""Segmented documents: a big document is kept as top-level segments, each its own
tree, and an edit reparses only its segment; whatever the edits, the segments read
like a fresh parse of the whole document."""

from __future__ import annotations

import asyncio

import pytest
import tree_sitter
from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st

from agentls.context.languages import grammar_for
from agentls.context.trees import DocumentTrees, ParsedDocument, encode
from agentls.edits.documents import DocumentStore
from agentls.edits.text import TextChange
from tests.unit.trees_support import URI, fresh, nodes, store_with_trees

# Many top-level statements of every kind, so that tiny segments cut it in many places.
SEGMENTED = "".join(
    (
        f"import mod_{i}\n\n\n"
        f"@decorator_{i}\n"
        f"def f_{i}(a: int, b: str = '数据') -> str:  # note {i}\n"
        f'    """Doc {i} 🚀."""\n'
        f"    if a > {i}:\n"
        f"        return b * a\n"
        f"    return b\n"
        "# a comment at column 0\n\n"
        f"class C_{i}(Base):\n"
        f"    x = '''multi\nline {i}'''\n\n"
        f"    def m(self):\n"
        f"        return [\n            {i},\n        ]\n\n\n"
        f"VALUE_{i} = f_{i}(1); OTHER_{i} = {i}\n"
    )
    for i in range(12)
)

# Pieces that cross or move a top-level boundary: new definitions, dedented or indented
# lines, open brackets and strings (triple quotes too), a trailing backslash, clauses
# that attach to a previous statement, decorators.
SEGMENT_PIECES = st.sampled_from(
    [
        "",
        "x",
        " ",
        "\n",
        "    ",
        " # c",
        "\n# comment\n",
        "\ndef g(a):\n    return a\n",
        "\nclass K:\n    pass\n",
        "\n    y = 1",
        "x = 1\n",
        "(",
        ")",
        "[",
        '"',
        '"""',
        "'''",
        "\\\n",
        ":",
        "\nelse:\n    pass\n",
        "\n@dec\n",
        "数据🚀",
        "\r\n",
        "x =",
        " = ",
        "f'",
        "'",
        "x = (",
        "\n    x =",
    ]
)


def subtree(node: tree_sitter.Node) -> list[tuple[str, int, int, object, object]]:
    out = []
    cursor = node.walk()
    depth = 0
    while True:
        n = cursor.node
        assert n is not None
        out.append((n.type, n.start_byte, n.end_byte, n.start_point, n.end_point))
        if cursor.goto_first_child():
            depth += 1
            continue
        while depth and not cursor.goto_next_sibling():
            cursor.goto_parent()
            depth -= 1
        if not depth:
            return out


def top_level(parsed: ParsedDocument) -> list[tuple[str, int, int, str]]:
    return [(n.type, n.start_byte, n.end_byte, str(n)) for n in parsed.top_level()]


def segmented_store() -> tuple[DocumentStore, DocumentTrees]:
    return store_with_trees(SEGMENTED, segment_above=500, segment_bytes=300)


def test_a_big_document_is_kept_in_segments_with_the_documents_offsets() -> None:
    store, trees = segmented_store()
    parsed = trees.get(store.snapshot(URI))
    assert parsed is not None and len(parsed.trees) > 5
    expected = fresh(SEGMENTED)
    assert [(t, s, e) for t, s, e, _ in top_level(parsed)] == [
        (c.type, c.start_byte, c.end_byte) for c in expected.root_node.children
    ]
    # node_at finds the same node as the whole tree, in any segment
    for byte in range(0, len(parsed.data), 97):
        want = expected.root_node.descendant_for_byte_range(byte, byte)
        got = parsed.node_at(byte)
        assert want is not None and got is not None
        assert (got.type, got.start_byte, got.end_byte) == (
            want.type,
            want.start_byte,
            want.end_byte,
        ) or (got.type == want.type == "module")
    assert str(parsed.tree.root_node) == str(expected.root_node)  # parsed whole on demand


def test_an_edit_in_one_segment_reparses_only_that_segment() -> None:
    store, trees = segmented_store()
    before = trees.get(store.snapshot(URI))
    assert before is not None
    at = SEGMENTED.index("return b * a") + len("return b * a")
    store.change(URI, 2, [TextChange(at, at, "  # typed")])
    after = trees.get(store.snapshot(URI))
    assert after is not None and len(after.trees) == len(before.trees)
    pairs = zip(before.trees, after.trees, strict=True)
    changed = [i for i, (old, new) in enumerate(pairs) if old is not new]
    edited = after.segment_of(len(encode(store.snapshot(URI).text[:at])))
    # segments before the edit are shared; the edited one and those after it are new
    # objects (edited copies), only the edited one reparsed
    assert changed == list(range(edited, len(after.trees)))
    assert top_level(after) == [
        (c.type, c.start_byte, c.end_byte, str(c))
        for c in fresh(store.snapshot(URI).text).root_node.children
    ]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.floats(0, 1),
            st.floats(0, 0.02),
            st.lists(SEGMENT_PIECES, max_size=3).map("".join),
        ),
        min_size=1,
        max_size=12,
    ),
    st.integers(1, 3),
)
def test_segmented_document_equals_a_fresh_parse(
    script: list[tuple[float, float, str]], batch: int
) -> None:
    """The invariant of ``assert_like_a_fresh_parse`` after every reparse, and at rest."""
    store, trees = segmented_store()
    text = SEGMENTED
    previous: ParsedDocument | None = None
    for i, (at, length, new) in enumerate(script):
        start = int(at * len(text))
        end = min(len(text), start + int(length * len(text)))
        text = text[:start] + new + text[end:]
        store.change(URI, i + 2, [TextChange(start, end, new)])
        if i % batch and i != len(script) - 1:
            continue  # sometimes several edits pile up
        parsed = trees.get(store.snapshot(URI))
        assert parsed is not None and parsed.data == encode(text)
        assert_like_a_fresh_parse(
            parsed, text, rest=previous is not None and len(previous.trees) > 1
        )
        previous = parsed
    # at rest (the idle refresh): with a syntax error one tree, a fresh parse's
    rested = trees.rest(URI)
    assert rested is not None and rested.text == text
    assert len(rested.trees) == 1 or not rested.has_error
    assert_like_a_fresh_parse(rested, text)
    event(f"at rest: {'one tree' if len(rested.trees) == 1 else 'segments'}")


def fresh_segment(parsed: ParsedDocument, k: int) -> tree_sitter.Tree:
    """A fresh parse of segment ``k``'s bytes of the current text (its included range)."""
    start, end = parsed.segment_span(k)
    row = parsed.data.count(b"\n", 0, start)
    if k + 1 < len(parsed.trees):
        rng = tree_sitter.Range(
            (row, 0), (row + parsed.data.count(b"\n", start, end), 0), start, end
        )
    else:
        rng = tree_sitter.Range((row, 0), (0xFFFFFFFF, 0xFFFFFFFF), start, 0xFFFFFFFF)
    parser = tree_sitter.Parser(grammar_for("python"))  # (not the shared parser)
    parser.included_ranges = [rng]
    return parser.parse(parsed.data)


def ends_at_the_top_level(source: str) -> bool:
    """Whether ``source`` ends, for a plain Python lexer, outside any string or bracket
    and with no line continued (the run-on a LOCAL error must not have). As tree-sitter
    lexes: a closing bracket with no opening one opens nothing, and a one-line string
    reads on over a newline to its quote."""
    depth, i, n = 0, 0, len(source)
    while i < n:
        c = source[i]
        if c == "#":
            i = source.find("\n", i)
            if i < 0:
                return depth == 0
        elif c in "'\"":
            quote = source[i : i + 3] if source[i : i + 3] in ("'''", '"""') else c
            i += len(quote)
            while True:
                if i >= n:
                    return False  # an unterminated string
                if source[i] == "\\":
                    i += 2
                elif source.startswith(quote, i):
                    i += len(quote) - 1
                    break
                else:
                    i += 1
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth = max(0, depth - 1)
        elif c == "\\" and source[i + 1 : i + 2] in ("\n", "\r", ""):
            if not source[i + 1 :].strip():
                return False  # the last line continued
        i += 1
    return depth == 0


def assert_like_a_fresh_parse(parsed: ParsedDocument, text: str, rest: bool = True) -> None:
    """The invariant of a document's trees (``trees.py``), ``expected`` a fresh parse of
    the whole text:

    - segments: each segment's tree equal, node for node, to a fresh parse of that
      segment's bytes (its included range) of the current text, each top-level node
      inside its segment. Without a syntax error the segments' top-level nodes (type,
      bytes, points, s-expression, every descendant) are those of ``expected``. A
      segment with an error (LOCAL) ends at the top level for Python's tokenizer: no
      string, bracket or line continuation open at its end. (``expected`` may still
      recover otherwise from the error, even beyond the segment: tree-sitter's
      recovery is not local; counted as an event.)
    - one tree (a small document, or a big one with a BROKEN segment): ``expected``
      node for node when it has no syntax error, or at rest (``rest``: after the idle
      refresh, or the first reparse after segments); with an error while typing, an
      incremental reparse of the last one tree, whose recovery tree-sitter does not
      promise to be a fresh parse's: only its bytes and extent are checked."""
    expected = fresh(text)
    error = "with an error" if expected.root_node.has_error else "clean"
    events = currently_in_test_context()  # (hypothesis statistics)
    if events:
        event(f"{'one tree' if len(parsed.trees) == 1 else 'segments'}, {error}")
    if len(parsed.trees) == 1:
        tree = parsed.trees[0]
        if rest or not expected.root_node.has_error:
            assert str(tree.root_node) == str(expected.root_node)
            assert nodes(tree) == nodes(expected)
        else:
            assert tree.root_node.has_error
            assert tree.root_node.end_byte == expected.root_node.end_byte
        return
    for k, segment in enumerate(parsed.trees):
        assert nodes(segment) == nodes(fresh_segment(parsed, k))
        start, end = parsed.segment_span(k)
        assert all(start <= c.start_byte <= c.end_byte <= end for c in segment.root_node.children)
        if segment.root_node.has_error:
            chunk = parsed.data[start:end].decode("utf-8", "surrogatepass")
            assert ends_at_the_top_level(chunk)
    whole = [(c.type, c.start_byte, c.end_byte, str(c)) for c in expected.root_node.children]
    if not parsed.has_error:
        assert not expected.root_node.has_error
        assert top_level(parsed) == whole
        got = [subtree(n) for n in parsed.top_level()]
        assert got == [subtree(c) for c in expected.root_node.children]
    elif events:
        same = top_level(parsed) == whole
        event(f"LOCAL error: top level {'as' if same else 'unlike'} a whole parse's")


@pytest.mark.parametrize(
    ("before", "delete", "insert"),
    [
        (1, 0, " \\"),  # a backslash at the end of a segment joins the next one's line
        (0, 0, "    "),  # the first line of a segment indented
        (0, 0, "# c\n    y = 1\n"),  # an indented line after a comment at column 0
        (0, 0, "else:\n    pass\n"),  # a clause for the previous segment's statement
        (1, 1, ""),  # the newline before a segment deleted
        (1, 0, "\n"),  # a blank line at the end of a segment
        (0, 0, "\n"),  # and at the start of the next
        (1, 0, "\n@dec"),  # a decorator for the next segment's first statement
        (1, 0, "\n'''"),  # a string left open
        (0, 1, ""),  # the first character of a segment deleted
        (2, 3, "x\n"),  # an edit across the boundary
    ],
)
def test_edits_at_segment_boundaries(before: int, delete: int, insert: str) -> None:
    store, trees = segmented_store()
    parsed = trees.get(store.snapshot(URI))
    assert parsed is not None
    version = 1
    for boundary in parsed.starts[1:4]:
        text = store.snapshot(URI).text
        current = trees.get(store.snapshot(URI))
        assert current is not None
        at = current.char_offset(boundary) - before
        version += 1
        store.change(URI, version, [TextChange(at, at + delete, insert)])
        new = trees.get(store.snapshot(URI))
        assert new is not None
        assert_like_a_fresh_parse(new, text[:at] + insert + text[at + delete :])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(1, 20),  # which boundary (modulo their number)
            st.integers(-4, 1),  # which line: before it (negative) or after it
            st.floats(0, 1),  # where in the line
            st.integers(0, 3),  # characters deleted
            st.lists(SEGMENT_PIECES, max_size=2).map("".join),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_edits_near_segment_ends_keep_the_invariant(
    script: list[tuple[int, int, float, int, str]],
) -> None:
    """Edits on the last and first lines of segments, where an error may or may not be
    kept in its segment: the invariant of ``assert_like_a_fresh_parse`` holds."""
    store, trees = segmented_store()
    previous = trees.get(store.snapshot(URI))
    assert previous is not None
    for version, (which, line, where, delete, insert) in enumerate(script, start=2):
        text = previous.text
        segments = trees._docs[URI].segments  # (their boundaries, also while one tree)
        assert segments is not None and len(segments.starts) > 1
        boundary = previous.char_offset(segments.starts[1 + which % (len(segments.starts) - 1)])
        start = boundary
        for _ in range(-line):
            start = text.rfind("\n", 0, start - 1) + 1
        if line > 0:
            start = text.find("\n", start) + 1 or len(text)
        end = text.find("\n", start)
        at = start + int(where * ((len(text) if end < 0 else end) - start))
        delete = min(delete, len(text) - at)
        store.change(URI, version, [TextChange(at, at + delete, insert)])
        text = text[:at] + insert + text[at + delete :]
        parsed = trees.get(store.snapshot(URI))
        assert parsed is not None and parsed.text == text
        assert_like_a_fresh_parse(parsed, text, rest=len(previous.trees) > 1)
        previous = parsed


def segment_state(trees: DocumentTrees) -> tuple[frozenset[int], frozenset[int]]:
    """The segments with an error (LOCAL or BROKEN), and the BROKEN ones."""
    segments = trees._docs[URI].segments
    assert segments is not None
    return segments.unclean, segments.broken


def middle_of_a_segment(parsed: ParsedDocument, needle: str) -> int:
    """Code-point offset of the end of a line holding ``needle``, well inside its
    segment (neither of its first two nor last two lines)."""
    text = parsed.text
    at = -1
    while True:
        at = text.index(needle, at + 1)
        end = text.index("\n", at)
        start, stop = parsed.segment_span(parsed.segment_of(parsed.byte_offset(end)))
        first_row = parsed.data.count(b"\n", 0, start)
        last_row = parsed.data.count(b"\n", 0, stop) - 1
        if first_row + 2 < text.count("\n", 0, end) < last_row - 2:
            return end


def test_code_typed_in_a_function_body_keeps_its_error_in_the_segment() -> None:
    """Typing ``x = 1`` in a function body: at ``x =`` the segment has a syntax error
    kept in it (LOCAL): the document stays in segments, only that one reparsed, and
    its top level is a fresh whole parse's."""
    store, trees = segmented_store()
    parsed = trees.get(store.snapshot(URI))
    assert parsed is not None
    at = middle_of_a_segment(parsed, "return b * a")
    k = parsed.segment_of(parsed.byte_offset(at))
    text, version = store.snapshot(URI).text, 1
    errors = 0
    for piece in ["\n        ", *"x = 1"]:
        before = trees.get(store.snapshot(URI))
        assert before is not None
        version += 1
        store.change(URI, version, [TextChange(at, at, piece)])
        text, at = text[:at] + piece + text[at:], at + len(piece)
        after = trees.get(store.snapshot(URI))
        assert after is not None and len(after.trees) == len(parsed.trees)
        assert all(old is new for old, new in zip(before.trees[:k], after.trees[:k], strict=True))
        assert_like_a_fresh_parse(after, text)
        broken = text[text.rindex("\n", 0, at) + 1 : at].strip() == "x ="
        assert after.has_error == broken
        assert segment_state(trees) == (frozenset({k} if broken else ()), frozenset())
        errors += broken
    assert errors == 2  # "x =" and "x = "


@pytest.mark.parametrize(
    ("where", "insert"),
    [
        ("end", "'''"),  # a triple-quoted string left open at the end of a segment
        ("end", '"""'),
        ("end", "("),  # a bracket left open there
        ("end", " + ["),
        ("end", "'"),  # an unclosed one-line string
        ("end", " f'"),
        ("end", "\nx ="),  # an error on the segment's last line
        ("end", "\n@dec"),  # a decorator for the next segment's first statement
        ("middle", "\n        s = '''"),  # a triple-quoted string opened in a function
        ("middle", "\n        s = f'{a"),  # an f-string left open
        ("middle", "\n        s = (a,"),  # an unclosed bracket
        ("middle", "\n        s = [a,\n        b"),  # over two lines
        ("start", "else:\n    pass\n"),  # a clause for the previous segment's statement
        ("start", "except E:\n    pass\n"),
        ("start", "    "),  # the first line of a segment indented
    ],
)
def test_an_error_that_may_run_on_falls_back_to_one_whole_tree(where: str, insert: str) -> None:
    """Open strings and brackets, errors at a segment's ends, a first line indented: they
    may change how the rest of the file parses (BROKEN), and the document is then one
    tree, a fresh whole parse."""
    store, trees = segmented_store()
    parsed = trees.get(store.snapshot(URI))
    assert parsed is not None
    boundary = parsed.char_offset(parsed.starts[3])
    at = {
        "end": boundary - 1,
        "start": boundary,
        "middle": middle_of_a_segment(parsed, "return b * a"),
    }[where]
    store.change(URI, 2, [TextChange(at, at, insert)])
    after = trees.get(store.snapshot(URI))
    assert after is not None
    assert len(after.trees) == 1
    assert segment_state(trees)[1]  # a BROKEN segment
    assert_like_a_fresh_parse(after, store.snapshot(URI).text)


# Functions without strings, then functions with docstrings: a string opened in the
# first ones runs on, in a whole parse, to a quote in a later segment.
PLAIN = "".join(f"def p_{i}(a):\n    b = a + {i}\n    return b\n\n\n" for i in range(40)) + "".join(
    f'def q_{i}(a):\n    """Doc {i}."""\n    return f"{{a}}"\n\n\n' for i in range(10)
)


@pytest.mark.parametrize("insert", ['\n    s = """abc', "\n    s = f'{a", '\n    s = "abc'])
def test_a_string_left_open_where_no_quote_follows_falls_back(insert: str) -> None:
    """The segment alone recovers from the open string on its line (no later quote in
    it), but a whole parse reads on to the next quote, segments away: BROKEN."""
    store, trees = store_with_trees(PLAIN, segment_above=500, segment_bytes=300)
    parsed = trees.get(store.snapshot(URI))
    assert parsed is not None and len(parsed.trees) > 5
    at = middle_of_a_segment(parsed, "b = a + 1")
    store.change(URI, 2, [TextChange(at, at, insert)])
    after = trees.get(store.snapshot(URI))
    assert after is not None and len(after.trees) == 1 and segment_state(trees)[1]
    assert_like_a_fresh_parse(after, store.snapshot(URI).text)


async def test_at_rest_a_syntax_error_is_one_fresh_whole_tree() -> None:
    """The idle refresh brings a document with an error kept in its segment to one
    tree, a fresh whole parse; typing on goes back to segments."""
    store = DocumentStore()
    trees = DocumentTrees(idle_reparse=0.01, segment_above=500, segment_bytes=300)
    store.listeners.append(trees)
    store.open(URI, 1, SEGMENTED, "python")
    parsed = trees.current(URI)
    assert parsed is not None
    at = middle_of_a_segment(parsed, "return b * a")
    store.change(URI, 2, [TextChange(at, at, "\n        x =")])
    typed = trees.current(URI)
    assert typed is not None and len(typed.trees) > 1 and typed.has_error
    for _ in range(500):
        rested = trees.current(URI)
        assert rested is not None
        if len(rested.trees) == 1:
            break
        await asyncio.sleep(0.01)
    assert len(rested.trees) == 1 and rested.seq == typed.seq
    assert_like_a_fresh_parse(rested, store.snapshot(URI).text)
    at += len("\n        x =")
    store.change(URI, 3, [TextChange(at, at, " 1")])
    again = trees.current(URI)
    assert again is not None and len(again.trees) == len(typed.trees) and not again.has_error
    assert_like_a_fresh_parse(again, store.snapshot(URI).text)
    trees.shutdown()


async def test_a_segment_grown_big_is_cut_again_when_the_document_is_quiet() -> None:
    store = DocumentStore()
    trees = DocumentTrees(idle_reparse=0.01, segment_above=500, segment_bytes=300)
    store.listeners.append(trees)
    store.open(URI, 1, SEGMENTED, "python")
    before = trees.current(URI)
    assert before is not None and len(before.trees) > 5
    pasted = "".join(f"\n\ndef pasted_{i}(a):\n    return a + {i}\n" for i in range(60))
    at = SEGMENTED.index("OTHER_3 = 3") + len("OTHER_3 = 3")
    store.change(URI, 2, [TextChange(at, at, pasted)])
    pasted_in = trees.current(URI)  # one segment holds all of it
    assert pasted_in is not None
    sizes = [e - s for s, e in map(pasted_in.segment_span, range(len(pasted_in.trees)))]
    assert max(sizes) > len(pasted)
    for _ in range(500):
        current = trees.current(URI)
        assert current is not None
        if len(current.trees) > len(pasted_in.trees):
            break
        await asyncio.sleep(0.01)
    assert len(current.trees) > len(pasted_in.trees) + 3
    assert_like_a_fresh_parse(current, store.snapshot(URI).text)
    # and it goes on from there
    at = store.snapshot(URI).text.index("return a + 30") + len("return a + 30")
    store.change(URI, 3, [TextChange(at, at, " # x")])
    after = trees.current(URI)
    assert after is not None and len(after.trees) == len(current.trees)
    assert_like_a_fresh_parse(after, store.snapshot(URI).text)
    trees.shutdown()
