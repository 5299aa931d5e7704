from hypothesis import given
from hypothesis import strategies as st

from agentls.edits.text import (
    LineIndex,
    Position,
    TextChange,
    apply_changes,
    line_bounds,
    line_break,
    split_lines,
)

ALPHABET = st.sampled_from([*list("ab \t\n\r"), "é", "中", "😀", "\r\n"])


def utf16_column(line: str, code_points: int) -> int:
    return len(line[:code_points].encode("utf-16-le")) // 2


@given(st.lists(ALPHABET, max_size=40).map("".join), st.data())
def test_position_roundtrip_utf16(text: str, data: st.DataObject) -> None:
    index = LineIndex(text)
    offset = data.draw(st.integers(0, len(text)))
    if 0 < offset < len(text) and text[offset - 1] == "\r" and text[offset] == "\n":
        offset -= 1  # the middle of a CRLF is not a position
    pos = index.position(offset)
    assert index.offset(pos) == offset
    line_start = index.line_start(pos.line)
    assert pos.character == utf16_column(text[line_start:], offset - line_start)


def test_emoji_counts_two_utf16_units() -> None:
    index = LineIndex("x😀y\n中z")
    assert index.position(2) == Position(0, 3)
    assert index.offset(Position(0, 3)) == 2
    assert index.offset(Position(1, 1)) == 5
    assert index.position(2, "utf-8") == Position(0, 5)
    assert index.position(2, "utf-32") == Position(0, 2)


def test_positions_past_the_end_clamp() -> None:
    index = LineIndex("ab\ncd")
    assert index.offset(Position(0, 99)) == 2
    assert index.offset(Position(99, 0)) == 5
    assert index.offset(Position(-1, 0)) == 0


def test_lone_carriage_return_ends_a_line() -> None:
    index = LineIndex("a\rb\r\nc")
    assert index.line_count == 3
    assert [index.line_text(i) for i in range(3)] == ["a", "b", "c"]
    assert index.offset(Position(2, 0)) == 5


def test_apply_changes_refuses_overlap() -> None:
    assert apply_changes("abcdef", [TextChange(4, 5, "X"), TextChange(0, 1, "")]) == "bcdXf"
    try:
        apply_changes("abc", [TextChange(0, 2, ""), TextChange(1, 3, "")])
    except ValueError:
        return
    raise AssertionError("overlap not detected")


def test_line_bounds() -> None:
    text = "one\ntwo\nthree"
    assert line_bounds(text, 5, 5) == (4, 8)
    assert line_bounds(text, 9, 10) == (8, 13)
    assert line_bounds(text, 0, 4) == (0, 4)


def test_line_bounds_with_lone_cr_and_crlf() -> None:
    text = "one\rtwo\r\nthree\rfour"
    assert line_bounds(text, 5, 5) == (4, 9)  # "two\r\n"
    assert line_bounds(text, 10, 11) == (9, 15)  # "three\r"
    assert line_bounds(text, 0, 4) == (0, 4)  # ends with the lone CR
    assert line_bounds(text, 4, 8) == (4, 9)  # ends at the CR of a CRLF: takes the LF
    assert line_bounds(text, 16, 16) == (15, 19)


@given(st.lists(ALPHABET, max_size=40).map("".join), st.data())
def test_line_bounds_agree_with_the_line_index(text: str, data: st.DataObject) -> None:
    index = LineIndex(text)
    offset = data.draw(st.integers(0, len(text)))
    if 0 < offset < len(text) and text[offset - 1] == "\r" and text[offset] == "\n":
        offset -= 1
    line = index.line_of(offset)
    start, end = line_bounds(text, offset, offset)
    assert start == index.line_start(line)
    assert end == (index.line_start(line + 1) if line + 1 < index.line_count else len(text))


@given(st.lists(ALPHABET, max_size=40).map("".join))
def test_split_lines_are_the_line_index_lines(text: str) -> None:
    lines = split_lines(text)
    assert "".join(lines) == text
    index = LineIndex(text)
    expected = index.line_count - (1 if text and text[-1] in "\r\n" else 0)
    assert len(lines) == (expected if text else 0)
    assert all(line.rstrip("\r\n") == index.line_text(i) for i, line in enumerate(lines))


def test_line_break() -> None:
    assert line_break("a\rb\r") == "\r"
    assert line_break("a\r\nb") == "\r\n"
    assert line_break("ab") == "\n"


def same_index(derived: LineIndex, text: str) -> None:
    fresh = LineIndex(text)
    assert derived.text == text
    assert derived.line_count == fresh.line_count
    for line in range(fresh.line_count):
        assert derived.line_start(line) == fresh.line_start(line)
        assert derived.line_text(line) == fresh.line_text(line)


@given(
    st.lists(ALPHABET, max_size=40).map("".join),
    st.lists(
        st.tuples(st.floats(0, 1), st.integers(0, 6), st.lists(ALPHABET, max_size=6).map("".join)),
        min_size=1,
        max_size=8,
    ),
    st.data(),
)
def test_an_index_derived_from_changes_equals_a_fresh_one(
    text: str, script: list[tuple[float, int, str]], data: st.DataObject
) -> None:
    index = LineIndex(text)
    for at, length, new in script:
        start = int(at * len(text))
        end = min(len(text), start + length)
        change = TextChange(start, end, new)
        text = text[:start] + new + text[end:]
        index = index.changed(change, text)
        same_index(index, text)
    offset = data.draw(st.integers(0, len(text)))
    if 0 < offset < len(text) and text[offset - 1] == "\r" and text[offset] == "\n":
        offset -= 1
    pos = index.position(offset)
    assert index.offset(pos) == offset
    line_start = index.line_start(pos.line)
    assert pos.character == utf16_column(text[line_start:], offset - line_start)


def test_a_document_derives_each_snapshots_index_from_the_last() -> None:
    from agentls.edits.documents import DocumentStore

    store = DocumentStore()
    store.open("file:///a.py", 0, "a = '数据'\nb = 2\r\nc = 3\n")
    assert store.snapshot("file:///a.py").index.line_count == 4
    store.change("file:///a.py", 1, [TextChange(2, 2, "🚀\nx"), TextChange(0, 0, "# top\n")])
    snapshot = store.snapshot("file:///a.py")
    assert snapshot._index is not None  # derived, not rebuilt on first use
    same_index(snapshot.index, snapshot.text)
    store.change("file:///a.py", 2, ["whole\rnew text\n"])  # a full replacement: rebuilt
    snapshot = store.snapshot("file:///a.py")
    assert snapshot._index is None
    assert [snapshot.index.line_text(i) for i in range(3)] == ["whole", "new text", ""]
