"""RegionWriter against an in-memory editor that can imitate a typing user."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentls.edits.documents import DocumentStore, Snapshot
from agentls.edits.editor import MemoryEditor
from agentls.edits.region import RegionConflict, RegionWriter, streaming_text
from agentls.edits.text import TextChange

URI = "file:///a.py"
TEXT = "head\nold 1\nold 2\ntail\n"
START, END = 5, 17  # "old 1\nold 2\n"


class TypingEditor(MemoryEditor):
    """Applies our edit, then lets the 'user' change the text before answering."""

    def __init__(self, typing: list[Callable[[str], TextChange | None]], skip: int = 0) -> None:
        super().__init__(DocumentStore())
        self.typing = typing
        self.skip = skip  # skip this many of our edits (Neovim's stale-edit behaviour)

    async def apply(self, snapshot: Snapshot, changes: list[TextChange], label: str) -> None:
        if self.skip:
            self.skip -= 1
        else:
            await super().apply(snapshot, changes, label)
        if self.typing:
            change = self.typing.pop(0)(self.store.snapshot(URI).text)
            if change is not None:
                version = self.store.snapshot(URI).version + 1
                self.store.change(URI, version, [change])


def make(editor: MemoryEditor) -> RegionWriter:
    editor.store.open(URI, 0, TEXT)
    return RegionWriter(editor, editor.store.snapshot(URI).span(START, END), "test")


async def test_writes_the_target_exactly() -> None:
    editor = MemoryEditor()
    writer = make(editor)
    await writer.write("new 1\n")
    await writer.write("new 1\nnew 2\nnew 3\n")
    assert editor.store.snapshot(URI).text == "head\nnew 1\nnew 2\nnew 3\ntail\n"
    assert writer.edits_sent == 2
    assert (writer.start, writer.end) == (5, 23)


async def test_typing_outside_the_region_moves_it() -> None:
    def type_at_top(text: str) -> TextChange:
        return TextChange(0, 0, "# typed\n")

    def type_at_end(text: str) -> TextChange:
        return TextChange(len(text), len(text), "more\n")

    editor = TypingEditor([type_at_top, type_at_end])
    writer = make(editor)
    await writer.write("new 1\n")
    await writer.write("new 1\nnew 2\n")
    await writer.write("final\n")
    assert editor.store.snapshot(URI).text == "# typed\nhead\nfinal\ntail\nmore\n"


async def test_typing_inside_the_region_stops_the_writer_and_keeps_the_users_text() -> None:
    def type_inside(text: str) -> TextChange:
        at = text.index("new 1") + 3
        return TextChange(at, at, "USER")

    editor = TypingEditor([lambda text: None, type_inside])
    writer = make(editor)
    await writer.write("new 1\n")
    with pytest.raises(RegionConflict):
        await writer.write("new 1\nnew 2\n")  # lands, then the user types inside
    assert editor.store.snapshot(URI).text == "head\nnewUSER 1\nnew 2\ntail\n"
    with pytest.raises(RegionConflict):
        await writer.write("anything\n")  # and it stays stopped


async def test_a_skipped_edit_is_sent_again_against_the_new_version() -> None:
    def type_at_top(text: str) -> TextChange:
        return TextChange(0, 0, "x")

    editor = TypingEditor([type_at_top], skip=1)
    writer = make(editor)
    await writer.write("new\n")
    assert editor.store.snapshot(URI).text == "xhead\nnew\ntail\n"
    assert writer.edits_sent == 2


def test_streaming_text_keeps_the_unreplaced_rest_of_the_original() -> None:
    original = "a\nb\nc\nd\n"
    assert streaming_text(original, "") == original
    assert streaming_text(original, "A\n") == "A\nb\nc\nd\n"
    assert streaming_text(original, "a\nNEW\nb\n") == "a\nNEW\nb\nc\nd\n"
    assert streaming_text(original, "a\nb\nc\nd\ne\n") == "a\nb\nc\nd\ne\n"


def test_streaming_text_of_a_region_inside_a_line_adds_no_line_break() -> None:
    assert streaming_text("3.14", "math.pi\n") == "math.pi"
    assert streaming_text("3.14", "a\r\nb\r\n") == "a\r\nb"
    assert streaming_text("x = 1\ny", "X = 1\n") == "X = 1\ny"  # the rest goes on
    assert streaming_text("x = 1\ny", "X = 1\nY\n") == "X = 1\nY"


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.integers(0, 10_000), st.integers(1, 3)), max_size=8),
    st.lists(st.text(alphabet="xy😀\n", min_size=0, max_size=12), min_size=1, max_size=6),
)
async def test_random_typing_outside_never_garbles(
    typing: list[tuple[bool, int, int]], steps: list[str]
) -> None:
    """The user types "§" at random places before or after the region between our edits:
    the region always ends as the last target and every typed character survives."""

    def typist(before: bool, where: int, count: int) -> Callable[[str], TextChange]:
        def type_it(text: str) -> TextChange:
            snapshot = editor.store.snapshot(URI)
            anchor = writer.anchor
            if before:
                at = where % (anchor.start) if anchor.start else 0
            else:
                at = anchor.end + 1 + where % max(1, len(snapshot.text) - anchor.end)
                at = min(at, len(snapshot.text))
            return TextChange(at, at, "§" * count)

        return type_it

    editor = TypingEditor([typist(*t) for t in typing])
    writer = make(editor)
    for step in steps:
        await writer.write(step)
    text = editor.store.snapshot(URI).text
    assert text.count("§") == sum(count for _, _, count in typing[: writer.edits_sent])
    assert text.replace("§", "") == TEXT[:START] + steps[-1] + TEXT[END:]
    assert text[writer.start : writer.end] == steps[-1]


async def test_typing_at_the_regions_edges_while_it_writes_stays_outside() -> None:
    """A line typed at the region's very start and one at its very end, each right
    after an edit of ours that added lines at that edge: the user's lines are not the
    region's (the writer goes on), the writer's lines are."""

    def at_start(text: str) -> TextChange:
        return TextChange(5, 5, "# above\n")

    def at_end(text: str) -> TextChange:
        at = text.index("tail")
        return TextChange(at, at, "# below\n")

    editor = TypingEditor([at_start, at_end])
    writer = make(editor)
    await writer.write("new 0\nold 1\nold 2\n")  # a line at the start edge
    await writer.write("new 0\nold 1\nold 2\nnew 3\n")  # and at the end edge
    await writer.write("final\n")
    text = editor.store.snapshot(URI).text
    assert text == "head\n# above\nfinal\n# below\ntail\n", text


async def test_two_writers_on_adjacent_regions_keep_to_their_own() -> None:
    """Two regions that meet (no line between them): each writer's lines added at the
    shared edge stay in its own region."""
    editor = MemoryEditor()
    editor.store.open(URI, 0, "a1\nb1\n")
    snapshot = editor.store.snapshot(URI)
    first = RegionWriter(editor, snapshot.span(0, 3), "a")
    second = RegionWriter(editor, snapshot.span(3, 6), "b")
    await first.write("a1\na2\n")  # inserted where the second region starts
    await second.write("b0\nb1\n")  # inserted where the first region ends
    await first.write("A\n")
    await second.write("B\n")
    assert editor.store.snapshot(URI).text == "A\nB\n"


async def test_revert_of_an_edit_of_unknown_fate_does_not_claim_the_original() -> None:
    """The edit's fate is unknown and the user typed next to the line it wrote: the text
    holds the agent's line, so the original as a base (which merges to the text as it
    is) must not count as a restore: the agent's line is restored, the typing kept."""
    editor = MemoryEditor()
    writer = make(editor)
    await writer.write("new 1\nold 2\n")
    text = editor.store.snapshot(URI).text
    at = text.index("new 1") + 5
    editor.store.change(URI, 9, [TextChange(at, at, " (edited)")])
    writer.current, writer.pending = writer.original, "new 1\nold 2\n"  # fate unknown
    await writer.revert()
    assert editor.store.snapshot(URI).text == "head\nold 1 (edited)\nold 2\ntail\n"


async def test_typing_right_before_the_edit_is_computed_stops_the_writer() -> None:
    """The user types inside the region after ``write`` looked and before its edit is
    computed (the edit runs as a task of its own, a loop turn later): the edit must not
    be made on the text without their typing (sim rewrite, vscode seed 3715)."""
    editor = MemoryEditor()
    writer = make(editor)
    await writer.write("new 1\n")
    at = editor.store.snapshot(URI).text.index("new 1") + 3
    loop = asyncio.get_running_loop()
    loop.call_soon(lambda: editor.store.change(URI, 7, [TextChange(at, at, "USER")]))
    with pytest.raises(RegionConflict):
        await writer.write("changed\n")
    assert editor.store.snapshot(URI).text == "head\nnewUSER 1\ntail\n"
