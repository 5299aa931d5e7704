"""Spans, anchors and the store's rebase; edits that LSP positions can address."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentls.edits.documents import DocumentStore
from agentls.edits.positions import StalePosition, follow
from agentls.edits.text import TextChange
from agentls.lsp.convert import addressable

URI = "file:///ws/a.py"


def test_a_span_is_read_only_with_its_own_text() -> None:
    store = DocumentStore()
    store.open(URI, 0, "abc\ndef\n")
    span = store.snapshot(URI).span(4, 7)
    store.change(URI, 1, [TextChange(0, 0, "xx")])
    with pytest.raises(StalePosition):
        span.offsets(store.snapshot(URI))
    now = store.rebase(span)
    assert now.text(store.snapshot(URI)) == "def" and not now.touched


def test_inserting_at_a_spans_edges_stays_outside_and_inside_touches() -> None:
    store = DocumentStore()
    store.open(URI, 0, "abc\ndef\nghi\n")
    span = store.snapshot(URI).span(4, 8)  # "def\n"
    store.change(URI, 1, [TextChange(4, 4, "# above\n"), TextChange(20, 20, "after")])
    now = store.rebase(span)
    assert now.text(store.snapshot(URI)) == "def\n" and not now.touched
    store.change(URI, 2, [TextChange(13, 13, "X")])  # inside "def"
    assert store.rebase(span).touched


def test_a_reopened_document_has_no_history_for_old_spans() -> None:
    store = DocumentStore()
    store.open(URI, 0, "abc")
    span = store.snapshot(URI).span(1, 2)
    store.open(URI, 0, "abc")
    with pytest.raises(StalePosition):
        store.rebase(span)


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet="ab\r\n", max_size=20),
    st.lists(st.tuples(st.integers(0, 25), st.integers(0, 5), st.text("xy\n", max_size=3))),
)
def test_rebase_finds_the_same_characters(text: str, edits: list[tuple[int, int, str]]) -> None:
    """Tag every character; after random edits that do not reach into the span, the
    rebased span holds exactly the span's characters."""
    store = DocumentStore()
    store.open(URI, 0, text)
    start, end = len(text) // 3, 2 * len(text) // 3
    span = store.snapshot(URI).span(start, end)
    ids = list(range(len(text)))
    fresh = 1000
    for version, (at, length, new) in enumerate(edits, 1):
        current = store.snapshot(URI).text
        at = min(at, len(current))
        stop = min(len(current), at + length)
        store.change(URI, version, [TextChange(at, stop, new)])
        ids[at:stop] = range(fresh, fresh + len(new))
        fresh += len(new)
    now = store.rebase(span)
    lo, hi = now.offsets(store.snapshot(URI))
    if not now.touched:
        assert ids[lo:hi] == list(range(start, end))


@given(st.text(alphabet="a\r\n", max_size=12), st.integers(0, 12), st.integers(0, 12))
def test_edits_never_split_a_crlf(text: str, a: int, b: int) -> None:
    start, end = sorted((min(a, len(text)), min(b, len(text))))
    change = addressable(text, TextChange(start, end, "Z"))
    for at in (change.start, change.end):
        assert text[at - 1 : at + 1] != "\r\n" or at == 0
    # The result is the same text.
    before = text[:start] + "Z" + text[end:]
    assert text[: change.start] + change.new_text + text[change.end :] == before


def test_follow_takes_our_changes_in_at_the_edges_and_no_one_elses() -> None:
    text = "head\nbody\ntail\n"
    ours = [TextChange(10, 10, "more\n")]  # at the region's end edge
    reported = [TextChange(5, 5, "# typed\n"), TextChange(18, 18, "more\n")]
    followed = follow(text, 5, 10, ours, reported)
    after = "head\n# typed\nbody\nmore\ntail\n"
    assert after[followed.start : followed.end] == "body\nmore\n"
    assert not followed.touched and followed.landed is True


def test_follow_knows_our_insertion_reported_next_to_where_it_was_asked() -> None:
    text = "a\nx\nx\nb\n"
    ours = [TextChange(4, 4, "x\n")]  # the region is "x\n" at 2: a line after it
    reported = [TextChange(6, 6, "x\n")]  # the editor put it after the next "x\n"
    followed = follow(text, 2, 4, ours, reported)
    assert (followed.start, followed.end, followed.landed) == (2, 6, True)


def test_follow_tells_an_edit_not_there_from_one_nobody_can_tell() -> None:
    text = "head\nbody\ntail\n"
    ours = [TextChange(5, 9, "BODY")]
    elsewhere = follow(text, 5, 10, ours, [TextChange(0, 0, "x")])
    assert elsewhere.landed is False and (elsewhere.start, elsewhere.end) == (6, 11)
    across = follow(text, 5, 10, ours, [TextChange(7, 7, "USER")])
    assert across.landed is None and across.touched
