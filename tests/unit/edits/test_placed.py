"""Undo by position (``edits/placed.py``): the agent's text comes out, the user's stays,
however the user typed next to it or into it."""

from __future__ import annotations

import pytest

from agentls.edits.documents import DocumentStore, EditorError
from agentls.edits.merge import merge3
from agentls.edits.placed import Placed, placed_at, undone
from agentls.edits.positions import StalePosition
from agentls.edits.text import TextChange

URI = "file:///ws/calc.py"
SOURCE = "def diff(a, b):\n    return a - b\n"


def _store() -> DocumentStore:
    store = DocumentStore()
    store.open(URI, 1, SOURCE)
    return store


def _agent_writes(store: DocumentStore, change: TextChange) -> Placed:
    """The agent's edit, as the editor reports it; remembered where it went."""
    old = store.snapshot(URI).text[change.start : change.end]
    store.change(URI, store.snapshot(URI).version + 1, [change])
    where = [(change.start, change.start + len(change.new_text))]
    return placed_at(URI, store.snapshot(URI).seq, where, [old], [change.new_text])


def test_typing_across_the_edge_of_the_agents_text_is_kept() -> None:
    """Simulation seed 2602 (eglot, agent): the user typed right after the agent's
    comment, then deleted across its end (the agent's last 't' and their own '# ');
    comparing texts took the user's 't' of 'typed' for the agent's."""
    store = _store()
    step = _agent_writes(store, TextChange(15, 15, "  # agent"))
    store.change(URI, 3, [TextChange(24, 24, "# typed")])  # after "  # agent"
    store.change(URI, 4, [TextChange(23, 26, "")])  # "t" of agent + "# " of the user
    now = store.snapshot(URI).text
    assert now == "def diff(a, b):  # agentyped\n    return a - b\n"
    text, pieces = undone(store, URI, [step], "calc.py")
    assert text == "def diff(a, b):typed\n    return a - b\n"
    assert pieces is not None
    # comparing whole texts cannot tell: it keeps 'yped' (the failure the sim found)
    assert merge3("def diff(a, b):  # agent\n    return a - b\n", SOURCE, now).text != text


def test_lines_typed_around_and_between_two_edits_stay() -> None:
    store = _store()
    first = _agent_writes(store, TextChange(15, 15, "  # one"))
    store.change(URI, 3, [TextChange(0, 0, "import os\n")])
    end = len(store.snapshot(URI).text)
    second = _agent_writes(store, TextChange(end, end, "# two\n"))
    end = len(store.snapshot(URI).text)
    store.change(URI, 5, [TextChange(end, end, "x = 1\n")])
    text, pieces = undone(store, URI, [first, second], "calc.py")
    assert text == "import os\n" + SOURCE + "x = 1\n"
    assert pieces is not None and len(pieces) == 2


@pytest.mark.parametrize(
    "second",
    [TextChange(17, 22, "# two"), TextChange(15, 22, ""), TextChange(22, 22, "!")],
    ids=["rewrites-it", "deletes-it", "appends-to-it"],
)
def test_the_task_editing_its_own_text_is_left_to_the_undo_by_text(second: TextChange) -> None:
    """Where the task's edits meet, positions cannot say whose text is where (a write of
    ':' then its deletion was undone to ':' + the original): the caller compares texts."""
    store = _store()
    first = _agent_writes(store, TextChange(15, 15, "  # one"))
    again = _agent_writes(store, second)
    with pytest.raises(StalePosition, match="the task's edits meet"):
        undone(store, URI, [first, again], "calc.py")


def test_a_change_inside_the_agents_text_is_merged_or_refused() -> None:
    store = _store()
    step = _agent_writes(store, TextChange(16, 16, "    x = 1\n    y = 2\n"))
    store.change(URI, 3, [TextChange(16, 16, "    # mine\n")])  # above: outside
    assert undone(store, URI, [step], "calc.py")[0] == (
        "def diff(a, b):\n    # mine\n    return a - b\n"
    )
    inside = store.snapshot(URI).text.index("y = 2")
    store.change(URI, 4, [TextChange(inside, inside + 5, "y = 3")])
    with pytest.raises(EditorError, match="written by the task and edited since"):
        undone(store, URI, [step], "calc.py")


def test_a_space_typed_inside_the_agents_text_is_never_taken_out() -> None:
    """Simulation seed 3695 (agent, vscode): the user typed a space inside the agent's
    leading spaces, then deleted its '# '; a subsequence test took the user's space for
    the agent's. Each character is followed now: the undo keeps it or refuses."""
    store = _store()
    step = _agent_writes(store, TextChange(15, 15, "  # agent"))
    store.change(URI, 3, [TextChange(17, 17, " ")])  # "  " + " " + "# agent"
    store.change(URI, 4, [TextChange(18, 20, "")])  # the agent's "# "
    assert store.snapshot(URI).text.startswith("def diff(a, b):   agent\n")
    try:
        text, _ = undone(store, URI, [step], "calc.py")
    except EditorError:
        return
    assert text == "def diff(a, b): \n    return a - b\n"


def test_what_the_user_deleted_of_the_agents_text_is_no_obstacle() -> None:
    store = _store()
    step = _agent_writes(store, TextChange(15, 15, "  # agent"))
    store.change(URI, 3, [TextChange(19, 24, "")])  # "agent"
    assert undone(store, URI, [step], "calc.py")[0] == SOURCE
