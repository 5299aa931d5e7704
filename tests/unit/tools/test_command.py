"""run_command through the toolbox (real bubblewrap), and the verify commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentls.model.base import ToolCall
from agentls.policy.sandbox import CommandRunner, command_runner, sandbox_available
from agentls.tools.box import Toolbox
from agentls.tools.command import command_tools, verify_failures

CANARY = "sk-canary-command-5e1b"


class Approver:
    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.asked: list[str] = []

    async def __call__(self, command: str) -> bool:
        self.asked.append(command)
        return self.answer


@pytest.fixture
def runner(tmp_path: Path) -> CommandRunner:
    check = sandbox_available()
    assert check.available, f"bubblewrap cannot sandbox commands here: {check.reason}"
    root = tmp_path / "ws"
    root.mkdir()
    (root / ".env").write_text(f"KEY={CANARY}\n")
    (root / "ok.py").write_text("print('fine')\n")
    return command_runner(root)


async def _call(box: Toolbox, **arguments: object) -> tuple[str, bool]:
    outcome = await box.run(ToolCall("c1", "run_command", json.dumps(arguments)))
    return outcome.text, outcome.ok


def test_the_spec_is_the_contract(runner: CommandRunner) -> None:
    [tool] = command_tools(runner, Approver(True))
    assert tool.spec.name == "run_command"
    params = tool.spec.parameters
    assert params["required"] == ["command"]
    assert {k: v["type"] for k, v in params["properties"].items()} == {
        "command": "string",
        "timeout": "integer",
    }
    assert "sandbox" in tool.spec.description and "no network" in tool.spec.description


async def test_the_model_reads_output_and_exit_code(runner: CommandRunner) -> None:
    approve = Approver(True)
    box = Toolbox(command_tools(runner, approve))
    text, ok = await _call(box, command="python3 ok.py; echo oops >&2; exit 3")
    assert ok
    assert text.startswith("fine\noops\n[exit code 3, ")
    assert approve.asked == ["python3 ok.py; echo oops >&2; exit 3"]
    text, _ = await _call(box, command="cat .env; true")
    assert CANARY not in text and text.startswith("(no output)\n[exit code 0")


async def test_a_denied_command_does_not_run(runner: CommandRunner) -> None:
    box = Toolbox(command_tools(runner, Approver(False)))
    text, ok = await _call(box, command="touch made.txt")
    assert not ok
    assert "'touch made.txt' was not run: the user did not allow it" in text
    assert not (runner.root / "made.txt").exists()


async def test_a_timeout_is_reported_in_words_the_model_understands(
    runner: CommandRunner,
) -> None:
    box = Toolbox(command_tools(runner, Approver(True)))
    text, ok = await _call(box, command="echo begun; sleep 30", timeout=1)
    assert ok
    assert text.startswith("begun\n[timed out after 1 s: the command and everything it started")
    text, ok = await _call(box, command="echo x", timeout="soon")
    assert not ok and "timeout must be a integer" in text


async def test_empty_commands_are_refused(runner: CommandRunner) -> None:
    approve = Approver(True)
    box = Toolbox(command_tools(runner, approve))
    text, ok = await _call(box, command="   ")
    assert not ok and "an empty command" in text and approve.asked == []


async def test_verify_reports_only_the_failures(runner: CommandRunner) -> None:
    assert await verify_failures(runner, ["true", "python3 ok.py"]) == ""
    said = await verify_failures(runner, ["true", "echo broke; exit 2", "python3 ok.py"])
    assert said.startswith("Verification failed:\n\n$ echo broke; exit 2\nbroke\n[exit code 2")
    assert "$ true" not in said and "ok.py" not in said
    approve = Approver(False)
    said = await verify_failures(runner, ["pytest -q"], approve=approve)
    assert "$ pytest -q\n[not run: the user did not allow it]" in said
    assert approve.asked == ["pytest -q"]
    said = await verify_failures(runner, ["sleep 30"], timeout=1)
    assert "timed out after 1 s" in said
