"""``agentls exec`` with run_command: sandboxed and free in full-auto, asked otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
    assert "Read-only file system" in results[3]
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
    assert "the user did not allow running 'touch made.txt'" in result


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
