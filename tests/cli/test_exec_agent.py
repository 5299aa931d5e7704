"""``agentls exec`` (the agent, no target) as a user runs it: the user's verify.commands,
the model's explanation ending a task, project instructions in every mode, Ctrl-C,
and no connection left open at exit."""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentls import cli_agent, cli_exec
from agentls.policy import sandbox
from agentls.policy.sandbox import sandbox_available
from tests.support.model_server import (
    ScriptedModelServer,
    error_reply,
    hang_reply,
    text_reply,
    tool_call_reply,
)

BROKEN = {"path": "calc.py", "old_string": "return a + b", "new_string": "return a - b"}


def _env(base_url: str, cwd: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTLS_"))}
    env.update(OPENAI_BASE_URL=base_url, AGENTLS_MODEL="scripted-model")
    env["AGENTLS_CACHE_DIR"] = str(cwd.parent / "cache")
    return env


def _command(*args: str, cwd: Path) -> list[str]:
    return [sys.executable, "-m", "agentls", "exec", *args, "--workspace", str(cwd)]


def agentls(*args: str, base_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _command(*args, cwd=cwd),
        cwd=cwd,
        env=_env(base_url, cwd),
        stdin=subprocess.DEVNULL,  # no terminal: whatever asks gets a no
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    return root


def _settings(tmp_path: Path, settings: dict[str, object]) -> str:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps(settings))
    return f"@{path}"


def test_a_users_failing_verify_command_runs_and_the_models_explanation_ends_the_task(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """auto-edit would ask for a model's command (and nobody can answer here): the
    user's own verify command runs anyway, sandboxed; it fails whatever the model
    does, the model says so, and the task ends there (it ran 30 steps before)."""
    assert sandbox_available().available
    root = _workspace(tmp_path)
    model.enqueue(
        tool_call_reply([("edit_file", BROKEN)]),
        tool_call_reply([("finish", {"summary": "subtracts now"})]),
        tool_call_reply([("finish", {"summary": "`false` fails whatever the code says"})]),
    )
    settings = _settings(tmp_path, {"verify": {"commands": ["false"]}})
    done = agentls(
        "subtract", "--approval", "auto-edit", "--settings", settings,
        base_url=model.base_url, cwd=root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert len(model.requests) == 3
    fed_back = [m["content"] for m in model.requests[2]["messages"] if m["role"] == "tool"][-1]
    assert "$ false" in fed_back and "[exit code 1" in fed_back  # it ran: no approval asked
    assert "agentls: done: `false` fails whatever the code says" in done.stderr
    assert "Verification still reports problems" in done.stderr
    assert "return a - b" in (root / "calc.py").read_text()


@pytest.fixture
def no_bwrap(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As on a machine without bubblewrap (the check's cache is reset around it)."""
    monkeypatch.setattr(sandbox, "_bwrap", lambda: None)
    sandbox.sandbox_available.cache_clear()
    yield
    sandbox.sandbox_available.cache_clear()


def _args(root: Path, model: ScriptedModelServer, *extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli_exec.add_arguments(parser)
    return parser.parse_args(
        ["task", "--workspace", str(root), "--base-url", model.base_url,
         "--model", "scripted-model", *extra]
    )  # fmt: skip


def test_a_verify_command_that_cannot_run_is_said_once_and_burns_no_step(
    model: ScriptedModelServer,
    tmp_path: Path,
    no_bwrap: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No sandbox and no terminal to allow it: the user's verify command cannot run;
    the task says so once and ends on the model's finish."""
    root = _workspace(tmp_path)
    model.enqueue(
        tool_call_reply([("edit_file", BROKEN)]),
        tool_call_reply([("finish", {"summary": "subtracts now"})]),
    )
    monkeypatch.setenv("AGENTLS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))  # not a terminal: nobody asked
    settings = _settings(tmp_path, {"verify": {"commands": ["false"]}})
    args = _args(root, model, "--approval", "auto-edit", "--settings", settings)
    assert cli_agent.main(args) == 0
    err = capsys.readouterr().err
    assert len(model.requests) == 2
    assert err.count("verify.commands were not run ('false': the user did not allow it") == 2
    # once as a warning when it happened, once in the task's summary
    assert "agentls: done: subtracts now" in err


def test_project_instructions_reach_the_model_in_ask_and_plan_modes(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = _workspace(tmp_path)
    (root / "AGENTS.md").write_text("Always answer in haiku.\n")
    model.enqueue(text_reply("five seven five"))
    done = agentls("what is calc", "--mode", "ask", base_url=model.base_url, cwd=root)
    assert done.returncode == 0, done.stderr
    model.enqueue(text_reply("1. nothing"))  # the plan; nobody approves it here
    done = agentls("plan it", "--mode", "plan", base_url=model.base_url, cwd=root)
    assert "Plan not approved" in done.stderr
    for body in model.requests:
        assert "Always answer in haiku." in body["messages"][0]["content"]
    assert len(model.requests) == 2


def _wait_for(check: object, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(check) and check():
            return
        time.sleep(0.1)
    raise AssertionError("the condition did not hold in time")


def test_ctrl_c_stops_cleanly_shows_what_changed_and_how_to_revert(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = _workspace(tmp_path)
    original = (root / "calc.py").read_text()
    model.enqueue(tool_call_reply([("edit_file", BROKEN)]), hang_reply())
    process = subprocess.Popen(
        _command("subtract", "--approval", "auto-edit", cwd=root),
        cwd=root,
        env=_env(model.base_url, root),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(lambda: len(model.requests) == 2)  # edited, and waiting for the model
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "Unclosed" not in err
    assert "-    return a + b" in out and "+    return a - b" in out
    assert "changed so far: calc.py" in err
    found = re.search(r"to revert them: patch -R -p1 -d (\S+) < (\S+)", err)
    assert found is not None, err
    with open(found[2]) as patch:
        subprocess.run(["patch", "-R", "-p1", "-d", found[1]], stdin=patch, check=True)
    assert (root / "calc.py").read_text() == original


def test_no_http_connection_is_left_open_at_exit(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = _workspace(tmp_path)
    model.enqueue(
        tool_call_reply([("edit_file", BROKEN)]),
        tool_call_reply([("finish", {"summary": "subtracts now"})]),
    )
    done = agentls("subtract", base_url=model.base_url, cwd=root)
    assert done.returncode == 0, done.stderr
    assert "Unclosed" not in done.stderr
    model.enqueue(error_reply(401, "bad key"))
    failed = agentls("subtract", base_url=model.base_url, cwd=root)
    assert failed.returncode == 1 and "401" in failed.stderr
    assert "Unclosed" not in failed.stderr
    model.enqueue(text_reply("def add(a, b):\n    return a * b\n"))
    rewrite = agentls("multiply", "calc.py:2", base_url=model.base_url, cwd=root)
    assert rewrite.returncode == 0, rewrite.stderr
    assert "Unclosed" not in rewrite.stderr


def test_ctrl_c_in_a_focused_rewrite_leaves_the_file_and_no_traceback(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = _workspace(tmp_path)
    original = (root / "calc.py").read_text()
    model.enqueue(hang_reply())
    process = subprocess.Popen(
        _command("multiply", "calc.py:2", cwd=root),
        cwd=root,
        env=_env(model.base_url, root),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(lambda: len(model.requests) == 1)  # waiting for the model
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert "Traceback" not in err and "Unclosed" not in err
    assert "calc.py was not changed" in err
    assert (root / "calc.py").read_text() == original


def test_ctrl_c_on_a_terminal_offers_to_revert_at_once(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    import pty

    root = _workspace(tmp_path)
    original = (root / "calc.py").read_text()
    model.enqueue(tool_call_reply([("edit_file", BROKEN)]), hang_reply())
    terminal, typed = pty.openpty()  # stdin is a terminal the test types into
    process = subprocess.Popen(
        _command("subtract", "--approval", "auto-edit", cwd=root),
        cwd=root,
        env=_env(model.base_url, root),
        stdin=typed,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(typed)
    try:
        _wait_for(lambda: len(model.requests) == 2)
        assert "return a - b" in (root / "calc.py").read_text()
        process.send_signal(signal.SIGINT)
        os.write(terminal, b"y\n")  # "revert these changes?"
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
        os.close(terminal)
    assert process.returncode == 130, err
    assert "revert these changes? [y/N]" in err and "reverted (restored 1 file)" in err
    assert (root / "calc.py").read_text() == original
