"""What an approval question shows of a command line (round 4, r4_15): characters
that draw nothing are escaped and their runs counted, whatever Unicode calls them,
and the program list comes before the command, so no padding hides the tail."""

from __future__ import annotations

import asyncio
import sys
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from agentls.policy.approval import Answer, Kind, Policy
from agentls.policy.display import visible

# every code point that draws nothing of its own: spaces of any width, format
# characters (zero-width, bidi), and the letters and symbols that are blank
BLANKS = sorted(
    (
        {chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) in ("Zs", "Cf")}
        | set("\u2800\u3164\u115f\u1160\uffa0\u205f\u3000\u200b\u200c\u200d\u2060\ufeff")
        | {chr(c) for c in range(0x2000, 0x200B)}
        | set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    )
    - {" "}
)
TAIL = "; touch pwned"


def _drawn_blank(ch: str) -> bool:
    return ch in BLANKS


def test_each_blank_character_is_escaped_and_a_run_of_it_counted() -> None:
    for blank in BLANKS:
        shown = visible("pytest -q" + blank * 400 + TAIL)
        assert len(shown) < 80, (hex(ord(blank)), shown[:100])
        assert shown.endswith(TAIL), hex(ord(blank))
        assert not any(_drawn_blank(ch) for ch in shown), hex(ord(blank))
        assert "400" in shown, shown
        single = visible("a" + blank + "b")
        assert "U+" in single or "\\x" in single, (hex(ord(blank)), single)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([*BLANKS[:40], " ", "\u2800", "\u3164", "\r", "\x1b"]), max_size=600)
)
def test_mixed_padding_cannot_push_the_tail_away(padding: list[str]) -> None:
    shown = visible("ls" + "".join(padding) + TAIL)
    assert shown.endswith(TAIL)
    assert not any(_drawn_blank(ch) for ch in shown)
    # a run of padding shows in at most a few dozen characters, however long
    assert len(shown) < 2 + len(TAIL) + 120 + 12 * min(len(padding), 4), shown


class User:
    def __init__(self) -> None:
        self.asked: list[str] = []

    async def __call__(self, kind: Kind, what: str) -> Answer:
        self.asked.append(what)
        return "deny"


def test_the_program_list_comes_before_the_command() -> None:
    user = User()
    policy = Policy("ask", user)
    line = "pytest -q" + "x" * 3000 + TAIL  # visible padding pushes the tail far away
    assert asyncio.run(policy.refusal_to_run(line)) == "the user did not allow it"
    question = user.asked[0]
    assert question.startswith("(programs: pytest"), question[:80]
    assert "touch" in question[:80], question[:80]
    assert question.index("touch") < question.index("`")
