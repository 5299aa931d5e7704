"""An approval question about a write shows what the write changes: a compact unified
diff, capped, with control characters made visible (the terminal and the editor get the
same text)."""

from __future__ import annotations

import pytest

from agentls.policy.approval import ApprovingSink, Policy, Rules
from agentls.policy.display import DIFF_LINES
from agentls.tools.workspace import ToolDenied
from tests.unit.policy.test_approval import User


class Disk:
    """An edit sink that keeps the files in a dict (what was written, nothing else)."""

    def __init__(self) -> None:
        self.files: dict[str, str] = {}

    async def write(self, relative: str, old: str | None, new: str) -> None:
        self.files[relative] = new

    async def delete(self, relative: str, old: str) -> None:
        self.files.pop(relative, None)


OLD = "def main():\n    name = input()\n    print('hello', name)\n    return 0\n"


async def test_the_question_about_an_edit_shows_its_diff() -> None:
    user = User("once")
    sink = ApprovingSink(Disk(), Policy("ask", user))
    new = OLD.replace("    print('hello', name)\n", "    print('hi', name)\n    log(name)\n")
    await sink.write("pkg/main.py", OLD, new)
    question = user.asked[0]
    assert question.startswith("edit pkg/main.py:\n@@ ")
    assert "\n-    print('hello', name)\n+    print('hi', name)\n+    log(name)\n" in question
    assert "\n     name = input()\n" in question  # a line of context, indentation kept
    assert "def main" not in question  # one line of context only
    assert question.endswith("\n(end of the diff)")


async def test_a_new_file_and_a_protected_file_show_their_diff_too() -> None:
    user = User("once", "once")
    sink = ApprovingSink(Disk(), Policy("auto-edit", user, Rules()))
    await sink.write("notes.md", "", "nothing asked in auto-edit\n")
    await sink.write(".vscode/settings.json", None, '{"python.defaultInterpreterPath": "x"}\n')
    assert len(user.asked) == 1
    assert user.asked[0].startswith("create .vscode/settings.json (protected: ")
    assert '\n+{"python.defaultInterpreterPath": "x"}\n' in user.asked[0]


async def test_the_diff_is_capped_and_shows_control_characters() -> None:
    user = User("deny")
    sink = ApprovingSink(Disk(), Policy("ask", user))
    new = "".join(f"line {i}\n" for i in range(200)) + "evil\x1b[2J\u202e\rcut\n"
    with pytest.raises(ToolDenied, match="the user did not allow it"):
        await sink.write("big.txt", "", new)
    question = user.asked[0]
    lines = question.split("\n")
    assert len(lines) <= DIFF_LINES + 4 and "more diff lines)" in question
    assert "\x1b" not in question and "\u202e" not in question and "\r" not in question

    user = User("deny")
    sink = ApprovingSink(Disk(), Policy("ask", user))
    with pytest.raises(ToolDenied):
        await sink.write("x.txt", "a\n", "a\nevil\x1b[2J\u202e\rcut\u2028more\n")
    assert "+evil⟨\\x1b⟩[2J⟨U+202E⟩⟨\\r⟩cut⟨U+2028⟩more" in user.asked[0]
