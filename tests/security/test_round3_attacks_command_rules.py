"""Round-three attacks on the user's command rules (issue 12, independent pass).

A hostile model writes command lines that bash runs differently from how the policy
reads them, and a hostile repository changes which program an allowed name starts.
Each line is first run in real bash to prove it runs the program it hides; then the
real policy (``Policy`` with the rules as ``agentls exec --settings`` parses them)
judges it, and, end to end, the real runner and bubblewrap run it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from agentls.config import parse_settings
from agentls.context.files import WorkspaceFiles
from agentls.policy.approval import Answer, Kind, Policy, rules_from
from agentls.policy.sandbox import command_runner, sandbox_available
from agentls.tools.box import Tool
from agentls.tools.command import command_tools
from agentls.tools.workspace import ToolDenied
from tests.security.round3_support import answer, project

# Bash evaluates an array subscript in a NAME or an arithmetic operand, and expands
# the command substitution inside it, even when the whole word was single-quoted.
HIDDEN_IN_SUBSCRIPTS = [
    "[[ 'a[$(rm keep.txt)]' -eq 0 ]]",
    "(( 'a[$(rm keep.txt)]' ))",
    "[[ -v 'a[$(rm keep.txt)]' ]]",
    "test -v 'a[$(rm keep.txt)]'",
    "[ -v 'a[$(rm keep.txt)]' ]",
    "printf -v 'a[$(rm keep.txt)]' %s x",
    "read 'a[$(rm keep.txt)]' <<< x",
    "declare -n r='a[$(rm keep.txt)]'; echo $r",
    "x='a[$(rm keep.txt)]'; echo ${!x}",
    "ls $(( 'a[$(rm keep.txt)]' ))",
    "ls \"${a['$(rm keep.txt)']}\"",
    ": ${a[$'\\x24(rm keep.txt)']}",
    "let 'a[$(rm keep.txt)]'",
    "declare -i n='a[$(rm keep.txt)]'",
    "a=(1 2); echo ${a['a[$(rm keep.txt)]']}",
    # a name in arithmetic is evaluated too: its value, set by the line or by bash
    "x='a[$(rm keep.txt)]'; [[ x -eq 0 ]]",
    "for x in 'a[$(rm keep.txt)]'; do [[ x -eq 0 ]]; done",
    ": 'a[$(rm keep.txt)]'; [[ _ -eq 0 ]]",
    "read x <<< 'a[$(rm keep.txt)]'; [[ x -lt 1 ]]",
]
# Bash's command hash table and exported functions choose what a plain name runs.
HIDDEN_IN_LOOKUP = [
    "BASH_CMDS[ls]=/bin/rm; ls keep.txt",
    "env 'BASH_FUNC_ls%%=() { rm keep.txt; }' bash -c ls",
]


def _bash_runs_rm(line: str, tmp_path: Path) -> bool:
    where = tmp_path / "proof"
    where.mkdir(exist_ok=True)
    (where / "keep.txt").write_text("keep\n")
    subprocess.run(["bash", "-c", line], cwd=where, capture_output=True, timeout=5, check=False)
    return not (where / "keep.txt").exists()


class Recorder:
    def __init__(self) -> None:
        self.asked: list[str] = []

    async def __call__(self, kind: Kind, what: str) -> Answer:
        self.asked.append(what)
        return "deny"


async def _run(tool: Tool, command: str) -> str:
    try:
        return await answer(tool.run({"command": command}))
    except ToolDenied as error:  # refused: what Toolbox.run answers the model
        return f"error: {error}"


def _policy(mode: str, settings: dict[str, object], asker: Recorder) -> Policy:
    parsed, warnings = parse_settings(settings)
    assert not warnings
    return Policy(mode, asker, rules_from(parsed), commands_sandboxed=True)  # type: ignore[arg-type]


async def _rules_denying_rm(line: str) -> tuple[str, list[str]]:
    """What full-auto with ``rm`` in agent.denyCommands says of ``line``: the refusal
    (empty: it runs) and what it asked."""
    asker = Recorder()
    policy = _policy("full-auto", {"agent": {"denyCommands": ["rm"]}}, asker)
    return await policy.refusal_to_run(line), asker.asked


def _tool_in_ask_mode(root: Path, allow: list[str], asker: Recorder) -> Tool:
    """``run_command`` in ask mode with ``allow`` as agent.allowCommands."""
    policy = _policy("ask", {"agent": {"allowCommands": allow}}, asker)
    files = WorkspaceFiles(root)
    return command_tools(command_runner(root, files.secrets), policy.refusal_to_run)[0]


@pytest.mark.parametrize("line", HIDDEN_IN_SUBSCRIPTS)
async def test_a_denied_program_hidden_in_an_array_subscript_is_denied(
    line: str, tmp_path: Path
) -> None:
    assert _bash_runs_rm(line, tmp_path), "the attack line must really run rm"
    refusal, asked = await _rules_denying_rm(line)
    assert refusal or asked, f"{line!r} runs rm unasked"


@pytest.mark.parametrize("line", HIDDEN_IN_LOOKUP)
async def test_a_denied_program_behind_an_allowed_name_is_denied(line: str, tmp_path: Path) -> None:
    assert _bash_runs_rm(line, tmp_path), "the attack line must really run rm"
    refusal, asked = await _rules_denying_rm(line)
    assert refusal or asked, f"{line!r} runs rm unasked"


@pytest.mark.skipif(not sandbox_available().available, reason="needs a working bubblewrap")
@pytest.mark.parametrize(
    "line",
    ["BASH_CMDS[ls]=/bin/bash; ls -c 'touch pwned'", "ls; [[ 'a[$(touch pwned)]' -eq 0 ]]"],
    ids=["ls-pointed-at-another-program", "command-in-a-subscript"],
)
async def test_an_allowed_ls_runs_no_other_command(
    line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    root = project(tmp_path)
    asker = Recorder()
    tool = _tool_in_ask_mode(root, ["ls"], asker)
    said = await _run(tool, line)
    assert not (root / "pwned").exists(), f"ran unasked: {said!r}; asked: {asker.asked}"


async def test_a_plain_conditional_with_an_allowed_ls_still_runs(tmp_path: Path) -> None:
    """The control: the rules still approve harmless lines of allowed commands."""
    asker = Recorder()
    policy = _policy("ask", {"agent": {"allowCommands": ["ls"]}}, asker)
    assert await policy.refusal_to_run("ls; [[ x -eq 0 ]]") == ""
    assert not asker.asked


@pytest.mark.skipif(not sandbox_available().available, reason="needs a working bubblewrap")
async def test_an_allowed_program_name_runs_no_program_of_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    root = tmp_path / "cloned"
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    planted = root / ".venv" / "bin" / "ls"
    planted.write_text("#!/bin/sh\necho HIJACKED; touch pwned\n")
    planted.chmod(0o755)
    asker = Recorder()
    tool = _tool_in_ask_mode(root, ["ls"], asker)
    said = await _run(tool, "ls")
    assert "HIJACKED" not in said and not (root / "pwned").exists(), (
        f"the repository's ls ran unasked: {said!r}"
    )


@pytest.mark.skipif(not sandbox_available().available, reason="needs a working bubblewrap")
async def test_an_allowed_program_only_the_virtualenv_has_still_runs_from_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The decision's other side: a rule-approved line finds the virtualenv's ``bin``
    last on PATH (a name only it has still runs); a line the user approved finds it
    first (the project's own ``python``, ``pytest``)."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    root = tmp_path / "project"
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    for name, text in (("only-in-venv", "ONLY-VENV"), ("ls", "VENV-LS")):
        program = root / ".venv" / "bin" / name
        program.write_text(f"#!/bin/sh\necho {text}\n")
        program.chmod(0o755)
    asker = Recorder()
    tool = _tool_in_ask_mode(root, ["only-in-venv"], asker)
    assert "ONLY-VENV" in await _run(tool, "only-in-venv")
    assert not asker.asked

    async def user_allows(kind: Kind, what: str) -> Answer:
        return "once"

    asked = Policy("ask", user_allows, rules_from(parse_settings({})[0]))
    files = WorkspaceFiles(root)
    tool = command_tools(command_runner(root, files.secrets), asked.refusal_to_run)[0]
    assert "VENV-LS" in await _run(tool, "ls")  # the user saw and approved this line
