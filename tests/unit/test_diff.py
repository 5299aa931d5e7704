from hypothesis import given
from hypothesis import strategies as st

from agentls.edits.diff import minimal_changes
from agentls.edits.text import apply_changes

TEXT = st.lists(st.sampled_from(["a", "b", "\n", "def f():\n", "    x\n", "😀"]), max_size=30).map(
    "".join
)


@given(TEXT, TEXT)
def test_changes_turn_old_into_new(old: str, new: str) -> None:
    changes = minimal_changes(old, new)
    assert apply_changes(old, changes) == new
    ends = [c.end for c in changes]
    starts = [c.start for c in changes]
    assert all(e <= s for e, s in zip(ends, starts[1:], strict=False)), "sorted, no overlap"


@given(TEXT, TEXT, st.integers(0, 50))
def test_offset_shifts_every_change(old: str, new: str, shift: int) -> None:
    plain = minimal_changes(old, new)
    shifted = minimal_changes(old, new, offset=shift)
    assert [(c.start + shift, c.end + shift, c.new_text) for c in plain] == [
        (c.start, c.end, c.new_text) for c in shifted
    ]


def test_one_changed_character_is_one_small_change() -> None:
    old = "def f():\n    return 1\n\n\ndef g():\n    return 2\n"
    new = old.replace("return 2", "return 3")
    [change] = minimal_changes(old, new)
    assert (old[change.start : change.end], change.new_text) == ("2", "3")


def test_unchanged_lines_between_changes_are_not_rewritten() -> None:
    old = "a = 1\nkeep = 0\nb = 2\n"
    new = "a = 10\nkeep = 0\nb = 20\n"
    changes = minimal_changes(old, new)
    assert len(changes) == 2
    assert all("keep" not in old[c.start : c.end] for c in changes)


def test_equal_texts_need_no_change() -> None:
    assert minimal_changes("same", "same") == []


def test_a_big_block_of_changes_is_diffed_line_by_line_without_difflib() -> None:
    """Above DIFF_LINES the line matching is skipped (it took 40 s for 10,000 lines with
    every other one changed, on the event loop): equal line counts give one change per
    changed line, and no unchanged line is rewritten."""
    from agentls.edits.diff import DIFF_LINES

    count = DIFF_LINES * 2
    old = "".join(f"line {i} = {i}\n" for i in range(count))
    new = "".join(f"line {i} = {i + (i % 2 == 0)}\n" for i in range(count))
    changes = minimal_changes(old, new)
    assert apply_changes(old, changes) == new
    assert len(changes) == count // 2
    assert all(len(c.new_text) <= 2 and c.end - c.start <= 2 for c in changes)
    grown = new + "one more\n"
    assert apply_changes(old, minimal_changes(old, grown)) == grown
