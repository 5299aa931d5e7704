"""``edits/landed.found``: is the edit we sent among the changes the editor reported?"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from agentls.edits.landed import found
from agentls.edits.merge import landed
from agentls.edits.positions import move_range
from agentls.edits.text import TextChange, apply_changes

BASE = "def diff(a, b):\n    return a - b\n"
OURS = TextChange(15, 15, "  # agent")  # at the end of the def line


def test_found_where_a_text_diff_sees_it_missing() -> None:
    """Simulation seed 1721 (eglot, agent): the user deleted the indentation right
    after our inserted comment; a character diff aligns the inserted spaces with the
    deleted ones and says the edit is not there, so it was sent again (twice in the
    buffer). The reported changes say it is there."""
    after_ours = apply_changes(BASE, [OURS])
    user = TextChange(25, 31, "")  # "\n" + "    re" -> the user deletes "    re"
    theirs = apply_changes(after_ours, [user])
    assert landed(BASE, after_ours, theirs) is False  # the text diff is fooled
    assert found(BASE, [OURS], [OURS, user]) is True


def test_refused_is_false_and_touched_is_unknown() -> None:
    typed = TextChange(0, 0, "import os\n")
    assert found(BASE, [OURS], [typed]) is False
    assert found(BASE, [OURS], []) is False
    inside = TextChange(10, 12, "x")  # the user replaced "a," where ours goes near
    assert found(BASE, [TextChange(9, 13, "q")], [inside]) is None


def test_an_insertion_reported_at_an_equivalent_place_is_ours() -> None:
    """Inserting "ab" before "ab" may be reported as an insertion after it."""
    base = "xabz"
    assert found(base, [TextChange(1, 1, "ab")], [TextChange(3, 3, "ab")]) is True


def test_part_of_a_multi_range_edit_is_unknown() -> None:
    ours = [TextChange(0, 0, "A"), TextChange(5, 5, "B")]
    assert found("01234567", ours, [TextChange(0, 0, "A")]) is None
    assert found("01234567", ours, [TextChange(0, 0, "A"), TextChange(6, 6, "B")]) is True


@st.composite
def _story(draw: st.DrawFn) -> tuple[str, TextChange, list[TextChange], int | None, bool]:
    """A base text, our change, the user's changes and where ours landed among them
    (None: refused); whether a user change reached our change's range."""
    base = draw(st.text("ab\n ", min_size=1, max_size=30))
    start = draw(st.integers(0, len(base)))
    end = draw(st.integers(start, min(len(base), start + 4)))
    # with an "X" the user never types: the user cannot type our very change
    ours = TextChange(start, end, "X" + draw(st.text("XY\n", max_size=3)))
    count = draw(st.integers(0, 4))
    at = draw(st.one_of(st.none(), st.integers(0, count)))
    reported: list[TextChange] = []
    text, mine = base, (ours.start, ours.end)
    touched = False
    for i in range(count + 1):
        if i == at:  # ours, mapped through the user's changes before it
            if touched:
                break
            change = TextChange(mine[0], mine[1], ours.new_text)
            reported.append(change)
            text = apply_changes(text, [change])
            mine = (mine[0], mine[0] + len(ours.new_text))
            at = -1  # landed
        if i == count:
            break
        s = draw(st.integers(0, len(text)))
        e = draw(st.integers(s, min(len(text), s + 3)))
        user = TextChange(s, e, draw(st.text("uv\n", max_size=3)))
        reported.append(user)
        text = apply_changes(text, [user])
        lo, hi, hit = move_range(mine[0], mine[1], user)
        touched = touched or hit
        mine = (lo, hi)
    return base, ours, reported, at, touched


@settings(max_examples=400, deadline=None)
@given(_story())
def test_never_wrong_when_it_answers(
    story: tuple[str, TextChange, list[TextChange], int | None, bool],
) -> None:
    """Whatever the user typed around it: True only if ours is there, False only if it
    is not (None, "cannot tell", is allowed only when the user reached into it)."""
    base, ours, reported, at, touched = story
    verdict = found(base, [ours], reported)
    if at == -1:
        assert verdict is not False
        if not touched:
            assert verdict is True
    elif at is None or at >= 0:
        assert verdict is not True or touched
        if not touched:
            assert verdict is False
