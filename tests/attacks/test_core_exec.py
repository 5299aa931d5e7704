"""``agentls exec`` as a broken model server and an impatient user meet it: refused
prompts, failing servers, Ctrl-C. Never a traceback, never an unclosed HTTP client."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.attacks.core_support import TRACEBACK, agent_exec, exec_command, exec_env
from tests.support.model_server import (
    ScriptedModelServer,
    error_reply,
    hang_reply,
    text_reply,
    tool_call_reply,
)

TOO_LONG = "This model's maximum context length is 8192 tokens. However, you requested 9000"
FAST = {"model": {"maxRetries": 0, "timeout": 3}}


def _clean(stderr: str) -> None:
    assert TRACEBACK not in stderr, stderr
    assert "Unclosed" not in stderr, stderr
    assert "Task was destroyed" not in stderr, stderr


def _too_long(times: int = 1) -> object:
    return error_reply(400, TOO_LONG, code="context_length_exceeded", times=times)


def test_too_long_on_the_first_request_fails_cleanly(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    model.enqueue(_too_long(times=5))  # type: ignore[arg-type]
    done = agent_exec("x", base_url=model.base_url, cwd=tmp_path, settings=FAST)
    _clean(done.stderr)
    assert done.returncode == 1
    assert "too long" in done.stderr
    assert len(model.requests) <= 2


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_too_long_after_a_step_compacts_and_retries_once(
    model: ScriptedModelServer, tmp_path: Path, api: str
) -> None:
    (tmp_path / "a.py").write_text("A = 1\n" * 50)
    model.enqueue(
        tool_call_reply([("read_file", {"path": "a.py"})]),
        tool_call_reply([("read_file", {"path": "a.py", "limit": 10})]),
        _too_long(),  # type: ignore[arg-type]
        text_reply("Goal: read a.py. Learned: A = 1."),  # the compaction summary
        tool_call_reply([("finish", {"summary": "all read"})]),
    )
    settings = {"model": {"api": api, "maxRetries": 0, "timeout": 5}}
    done = agent_exec("read a.py", base_url=model.base_url, cwd=tmp_path, settings=settings)
    _clean(done.stderr)
    assert done.returncode == 0, done.stderr
    assert "all read" in done.stderr


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_too_long_twice_in_a_row_fails_cleanly(
    model: ScriptedModelServer, tmp_path: Path, api: str
) -> None:
    (tmp_path / "a.py").write_text("A = 1\n")
    model.enqueue(
        tool_call_reply([("read_file", {"path": "a.py"})]),
        tool_call_reply([("read_file", {"path": "a.py", "limit": 10})]),
        _too_long(),  # type: ignore[arg-type]
        text_reply("Goal: read a.py."),
        _too_long(times=10),  # type: ignore[arg-type]
    )
    settings = {"model": {"api": api, "maxRetries": 0, "timeout": 5}}
    done = agent_exec("read a.py", base_url=model.base_url, cwd=tmp_path, settings=settings)
    _clean(done.stderr)
    assert done.returncode == 1
    assert "too long" in done.stderr
    assert len(model.requests) <= 6


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_a_stream_cut_mid_reply_fails_cleanly(
    model: ScriptedModelServer, tmp_path: Path, api: str
) -> None:
    model.enqueue(*[text_reply("half of an answer " * 20, cut_after_chunks=5)] * 4)
    settings = {"model": {"api": api, "maxRetries": 0, "timeout": 5}}
    done = agent_exec("x", base_url=model.base_url, cwd=tmp_path, settings=settings)
    _clean(done.stderr)
    assert done.returncode == 1


@pytest.mark.parametrize("status", [401, 500])
def test_http_errors_close_the_client(
    model: ScriptedModelServer, tmp_path: Path, status: int
) -> None:
    model.enqueue(error_reply(status, "no", times=10))
    done = agent_exec("x", base_url=model.base_url, cwd=tmp_path, settings=FAST)
    _clean(done.stderr)
    assert done.returncode == 1


def test_connection_refused_closes_the_client(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    url = f"http://127.0.0.1:{port}/v1"
    done = agent_exec("x", base_url=url, cwd=tmp_path, settings=FAST)
    _clean(done.stderr)
    assert done.returncode == 1


def test_timeout_closes_the_client(model: ScriptedModelServer, tmp_path: Path) -> None:
    model.enqueue(hang_reply())
    settings = {"model": {"maxRetries": 0, "timeout": 1}}
    done = agent_exec("x", base_url=model.base_url, cwd=tmp_path, settings=settings)
    _clean(done.stderr)
    assert done.returncode == 1


def _start(
    model: ScriptedModelServer, cwd: Path, settings: dict[str, object], *extra: str
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        exec_command("do it", cwd, settings, *extra),
        cwd=cwd,
        env=exec_env(model.base_url, cwd),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_requests(model: ScriptedModelServer, count: int) -> None:
    deadline = time.monotonic() + 20
    while len(model.requests) < count:
        assert time.monotonic() < deadline, "the model was never asked"
        time.sleep(0.02)


BIG = "".join(f"line {i}\n" for i in range(500))


@pytest.mark.parametrize("twice", [False, True])
def test_ctrl_c_during_the_stream_keeps_whole_edits_and_exits_130(
    model: ScriptedModelServer, tmp_path: Path, twice: bool
) -> None:
    (tmp_path / "a.py").write_text("A = 1\n")
    model.enqueue(
        tool_call_reply([("write_file", {"path": "big.txt", "content": BIG})]),
        tool_call_reply(
            [("edit_file", {"path": "a.py", "old_string": "A = 1", "new_string": "A = 2"})]
        ),
        text_reply("slowly " * 200, tokens_per_second=20),
    )
    proc = _start(model, tmp_path, {})
    _wait_for_requests(model, 3)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    if twice:
        time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    _clean(err)
    # twice: "Ctrl-C again to quit at once" dies by SIGINT (-2), which a shell shows as 130
    assert proc.returncode in ((130, -signal.SIGINT) if twice else (130,)), err
    assert (tmp_path / "a.py").read_text() == "A = 2\n"
    assert (tmp_path / "big.txt").read_text() == BIG
    assert "+A = 2" in out


def test_ctrl_c_during_a_command_exits_130(model: ScriptedModelServer, tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("A = 1\n")
    model.enqueue(
        tool_call_reply(
            [("edit_file", {"path": "a.py", "old_string": "A = 1", "new_string": "A = 2"})]
        ),
        tool_call_reply([("run_command", {"command": "sleep 20"})]),
        text_reply("never"),
    )
    proc = _start(model, tmp_path, {}, "--approval", "full-auto")
    _wait_for_requests(model, 2)
    time.sleep(1.5)  # the command is running in its sandbox
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    _clean(err)
    assert proc.returncode == 130, err
    assert "+A = 2" in out
    assert len(model.requests) == 2


def _system_text(request: dict[str, object]) -> str:
    return json.dumps(request.get("messages") or request.get("input") or request)


@pytest.mark.parametrize("mode", ["ask", "plan"])
def test_ask_and_plan_modes_send_agents_md_and_refuse_writes_by_name(
    model: ScriptedModelServer, tmp_path: Path, mode: str
) -> None:
    (tmp_path / "AGENTS.md").write_text("Always answer in haiku: MARKER-AGENTS\n")
    (tmp_path / "CLAUDE.md").write_text("MARKER-CLAUDE\n")
    model.enqueue(
        tool_call_reply(
            [
                ("write_file", {"path": "owned.txt", "content": "pwned"}),
                ("run_command", {"command": "touch ran.txt"}),
                ("edit_file", {"path": "AGENTS.md", "old_string": "Always", "new_string": "Never"}),
            ]
        ),
        text_reply("A plan: nothing."),
        text_reply("A plan: nothing."),
        text_reply("A plan: nothing."),
    )
    done = agent_exec(
        "what is here?", "--mode", mode, "--approval", "full-auto",
        base_url=model.base_url, cwd=tmp_path, settings=FAST,
    )  # fmt: skip
    _clean(done.stderr)
    first = model.requests[0]
    assert "MARKER-AGENTS" in _system_text(first) and "MARKER-CLAUDE" in _system_text(first)
    offered = {json.dumps(t) for t in first.get("tools") or []}
    assert not any(
        n in t for t in offered for n in ('"write_file"', '"run_command"', '"edit_file"')
    )
    assert not (tmp_path / "owned.txt").exists() and not (tmp_path / "ran.txt").exists()
    assert "Always" in (tmp_path / "AGENTS.md").read_text()
