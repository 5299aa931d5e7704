"""``agentls exec`` with run_command: sandboxed and free in full-auto, asked otherwise."""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentls import cli_agent, cli_exec
from agentls.policy import sandbox
from agentls.policy.sandbox import sandbox_available
from tests.support.model_server import ScriptedModelServer, tool_call_reply

CANARY = "sk-exec-command-canary-93c1"


def agentls(*args: str, base_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTLS_"))}
    env.update(OPENAI_BASE_URL=base_url, AGENTLS_MODEL="scripted-model")
    env["AGENTLS_CACHE_DIR"] = str(cwd.parent / "cache")
    env["GITHUB_TOKEN"] = CANARY  # a token of the user's environment: never in a command's
    env["MY_SERVICE_SECRET"] = CANARY
    return subprocess.run(
        [sys.executable, "-m", "agentls", "exec", *args, "--workspace", str(cwd)],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,  # no terminal: whatever asks gets a no
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def _workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    (root / ".env").write_text(f"TOKEN={CANARY}\n")
    (root / ".gitignore").write_text(".env\n")
    return root


def _tool_results(model: ScriptedModelServer) -> list[str]:
    last = model.requests[-1]["messages"]
    return [m["content"] for m in last if m.get("role") == "tool"]


def test_full_auto_runs_commands_in_the_sandbox_and_no_secret_reaches_the_model(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    check = sandbox_available()
    assert check.available, f"bubblewrap cannot sandbox commands here: {check.reason}"
    root = _workspace(tmp_path)
    add = "python3 -c 'import calc; print(calc.add(2, 3))' > out.txt"
    model.enqueue(
        tool_call_reply([("run_command", {"command": "cat .env"})]),
        tool_call_reply([("run_command", {"command": "env; grep -r canary . ; true"})]),
        tool_call_reply([("run_command", {"command": add})]),
        tool_call_reply([("run_command", {"command": "echo hook > .git/hooks/pre-commit"})]),
        tool_call_reply([("finish", {"summary": "ran them"})]),
    )  # fmt: skip
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    done = agentls("task", "--approval", "full-auto", base_url=model.base_url, cwd=root)
    assert done.returncode == 0, done.stderr
    assert "without a sandbox" not in done.stderr
    assert (root / "out.txt").read_text() == "5\n"  # the workspace is writable
    assert not (root / ".git" / "hooks" / "pre-commit").exists()
    results = _tool_results(model)
    assert results[0].startswith("(no output)\n[exit code 0")  # .env reads as empty
    assert "PATH=" in results[1] and "GITHUB_TOKEN" not in results[1]
    # .git is hidden from commands by default (sandbox.git): the hook cannot be written
    assert "No such file or directory" in results[3] or "Read-only file system" in results[3]
    assert CANARY not in json.dumps(model.requests)
    assert CANARY not in done.stderr + done.stdout


def test_auto_edit_asks_and_without_a_terminal_nothing_runs(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = _workspace(tmp_path)
    model.enqueue(
        tool_call_reply([("run_command", {"command": "touch made.txt"})]),
        tool_call_reply([("finish", {"summary": "could not run it"})]),
    )
    done = agentls("task", "--approval", "auto-edit", base_url=model.base_url, cwd=root)
    assert done.returncode == 0, done.stderr
    assert not (root / "made.txt").exists()
    assert "! run_command" in done.stderr
    [result] = _tool_results(model)
    assert "'touch made.txt' was not run: the user did not allow it" in result


def test_read_only_offers_no_run_command(model: ScriptedModelServer, tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    model.enqueue(
        tool_call_reply([("run_command", {"command": "touch made.txt"})]),
        tool_call_reply([("finish", {"summary": "no commands"})]),
    )
    done = agentls("task", "--approval", "read-only", base_url=model.base_url, cwd=root)
    assert done.returncode == 0, done.stderr
    assert not (root / "made.txt").exists()
    assert "no tool named 'run_command'" in done.stderr
    names = {t["function"]["name"] for t in model.requests[0]["tools"]}
    assert "run_command" not in names


class _Terminal(io.StringIO):
    """A terminal whose user types the given answers."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def no_bwrap(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As on a machine without bubblewrap (the check's cache is reset around it)."""
    monkeypatch.setattr(sandbox, "_bwrap", lambda: None)
    sandbox.sandbox_available.cache_clear()
    yield
    sandbox.sandbox_available.cache_clear()


def test_without_a_sandbox_every_command_asks_and_the_user_is_told_why(
    model: ScriptedModelServer,
    tmp_path: Path,
    no_bwrap: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = _workspace(tmp_path)
    model.enqueue(
        tool_call_reply([("run_command", {"command": "touch yes.txt"})]),
        tool_call_reply([("run_command", {"command": "touch no.txt"})]),
        tool_call_reply([("finish", {"summary": "asked twice"})]),
    )
    monkeypatch.setenv("OPENAI_API_KEY", "unused")
    monkeypatch.setenv("AGENTLS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(sys, "stdin", _Terminal("y\nn\n"))
    parser = argparse.ArgumentParser()
    cli_exec.add_arguments(parser)
    args = parser.parse_args(
        ["task", "--approval", "full-auto", "--workspace", str(root), "--base-url",
         model.base_url, "--model", "scripted-model"]
    )  # fmt: skip
    assert cli_agent.main(args) == 0
    err = capsys.readouterr().err
    assert err.count("commands run without a sandbox (bubblewrap (bwrap) is not installed") == 1
    assert err.count("agentls: run `touch") == 2
    assert (root / "yes.txt").exists() and not (root / "no.txt").exists()
    spec = next(t for t in model.requests[0]["tools"] if t["function"]["name"] == "run_command")
    assert "after the user approves it" in spec["function"]["description"]
    assert "'touch no.txt' was not run: the user did not allow it" in _tool_results(model)[-1]


def test_settings_rules_and_verify_commands_in_exec(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """--settings: an allow rule runs pytest-like checks without asking (auto-edit, no
    terminal), a deny rule blocks a command even in full parts of a list, and
    verify.commands' failure goes back to the model before the task may end."""
    root = _workspace(tmp_path)
    check = "python3 -c 'import calc; assert calc.add(2, 3) == 5, calc.add(2, 3)'"
    settings = {
        "agent": {"allowCommands": ["python3"], "denyCommands": ["git push"]},
        "verify": {"commands": [check]},
    }
    broken = {"path": "calc.py", "old_string": "return a + b", "new_string": "return a - b"}
    fixed = {"path": "calc.py", "old_string": "return a - b", "new_string": "return a + b"}
    model.enqueue(
        tool_call_reply([("edit_file", broken)]),
        tool_call_reply([("run_command", {"command": "python3 -c 'print(1)'; git push"})]),
        tool_call_reply([("run_command", {"command": "python3 -c 'print(40 + 2)'"})]),
        tool_call_reply([("finish", {"summary": "done?"})]),
        tool_call_reply([("edit_file", fixed), ("finish", {"summary": "fixed"})]),
    )
    settings_file = tmp_path / "settings.json"
    settings_file.write_text(json.dumps(settings))
    done = agentls(
        "task", "--approval", "auto-edit", "--settings", f"@{settings_file}",
        base_url=model.base_url, cwd=root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "agentls: done: fixed" in done.stderr
    bodies = model.requests
    results = [[m["content"] for m in b["messages"] if m["role"] == "tool"] for b in bodies]
    assert "agentls.denyCommands" in results[2][-1] or "agent.denyCommands" in results[2][-1]
    assert results[3][-1].startswith("42\n[exit code 0")  # allowed without asking
    assert "Verification failed" in results[4][-1] and "AssertionError: -1" in results[4][-1]
    assert (root / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
