"""Circles the red team found (issue 13 attack pass): the same call written another
way, and reads that page on past what there is."""

from __future__ import annotations

from agentls.agent.repeats import STALE_STOP, STOP_AT, Repeats
from agentls.model.base import ToolCall
from agentls.tools.box import ToolOutcome


def _read(arguments: str, text: str = "a.py (2 lines)") -> ToolOutcome:
    return ToolOutcome(ToolCall("c", "read_file", arguments), text, True)


def test_spacing_and_key_order_do_not_make_a_new_call() -> None:
    repeats = Repeats()
    stops = []
    for i in range(STOP_AT):
        pair = ['"path": "a.py"', f'"limit":{" " * i}50']
        _, stop = repeats.seen(_read("{" + ", ".join(pair if i % 2 else pair[::-1]) + "}"))
        stops.append(stop)
    assert not any(stops[:-1]) and "same call" in stops[-1]


def test_a_read_that_gives_an_old_result_for_new_arguments_learns_nothing() -> None:
    repeats = Repeats()
    stop = ""
    for step in range(1, 20):
        repeats.seen(_read(f'{{"path": "a.py", "offset": {100 + step}}}'), reads=True)
        _, stop = repeats.step_done()
        if stop:
            break
    assert stop and step == STALE_STOP + 1


def test_a_write_with_the_same_answer_each_time_is_progress() -> None:
    """Edits answer alike ("edited a.py"), yet each is a change: not a circle."""
    repeats = Repeats()
    for n in range(20):
        outcome = ToolOutcome(ToolCall("c", "edit_file", f'{{"n": {n}}}'), "edited a.py", True)
        assert repeats.seen(outcome, reads=False) == ("", "")
        assert repeats.step_done() == ("", "")


def test_not_json_arguments_are_compared_as_sent() -> None:
    repeats = Repeats()
    results = [repeats.seen(_read("{not json")) for _ in range(STOP_AT)]
    assert results[-1][1] and not results[0][1]
