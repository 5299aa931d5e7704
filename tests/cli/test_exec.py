"""``agentls exec`` and the plain server process, as a user starts them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.support.model_server import ScriptedModelServer, error_reply, text_reply

SOURCE = "def f(x):\n    return x\n\n\nY = 2\n"
REPLY = "Here it is:\n```python\ndef f(x: int) -> int:\n    return x\n```\n"


def agentls(*args: str, base_url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTLS_"))}
    env.update(OPENAI_BASE_URL=base_url, AGENTLS_MODEL="scripted-model")
    env["AGENTLS_CACHE_DIR"] = str(cwd / ".agentls-cache")  # the index of the run, not ~/.cache
    return subprocess.run(
        [sys.executable, "-m", "agentls", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_exec_rewrites_the_function_and_prints_a_diff(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    (tmp_path / "m.py").write_text(SOURCE)
    model.enqueue(text_reply(REPLY))
    done = agentls("exec", "add type hints", "m.py:2", base_url=model.base_url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "m.py").read_text() == SOURCE.replace("def f(x):", "def f(x: int) -> int:")
    assert "+def f(x: int) -> int:" in done.stdout and "-def f(x):" in done.stdout
    assert "done" in done.stderr


def test_exec_failure_leaves_the_file_alone(model: ScriptedModelServer, tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(SOURCE)
    model.enqueue(error_reply(401, "bad key"))
    done = agentls("exec", "x", "m.py:2", "--dry-run", base_url=model.base_url, cwd=tmp_path)
    assert done.returncode == 1
    assert "401" in done.stderr
    assert (tmp_path / "m.py").read_text() == SOURCE


def _frame(payload: dict[str, object]) -> bytes:
    body = json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def test_stdout_carries_only_json_rpc_even_when_verbose(tmp_path: Path) -> None:
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"capabilities": {}, "initializationOptions": {"model": {"name": 3}}},
    }
    messages = (
        _frame(init)
        + _frame({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        + _frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
        + _frame({"jsonrpc": "2.0", "method": "exit"})
    )
    done = subprocess.run(
        [sys.executable, "-m", "agentls", "-vv"],
        input=messages,
        capture_output=True,
        timeout=30,
        check=False,
    )
    out = done.stdout
    frames = []
    while out:
        header, _, rest = out.partition(b"\r\n\r\n")
        fields = dict(line.split(b": ", 1) for line in header.split(b"\r\n"))
        assert set(fields) <= {b"Content-Length", b"Content-Type"}, out[:200]
        length = int(fields[b"Content-Length"])
        frames.append(json.loads(rest[:length]))
        out = rest[length:]
    [answer] = [f for f in frames if f.get("id") == 1]
    assert "capabilities" in answer["result"]
    warning = [f for f in frames if f.get("method") == "window/showMessage"]
    assert warning and "model.name" in warning[0]["params"]["message"]
    assert b"DEBUG" in done.stderr  # the log went to stderr


def test_tcp_mode_serves_on_loopback(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path / "server.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "agentls", "--tcp", str(port), "--log-file", str(log), "-v"],
        env={**os.environ, "AGENTLS_TOKEN": "tcp-test-token"},  # proof a client must send
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                conn = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline, "server did not listen"
                time.sleep(0.1)
        with conn:
            conn.sendall(
                _frame(
                    {
                        "jsonrpc": "2.0",
                        "id": 1,
                        "method": "initialize",
                        "params": {
                            "capabilities": {},
                            "initializationOptions": {"token": "tcp-test-token"},
                        },
                    }
                )
            )
            data = b""
            while b"capabilities" not in data:
                chunk = conn.recv(65536)
                assert chunk, "connection closed"
                data += chunk
        assert b"executeCommandProvider" in data and b"agentls.run" in data
    finally:
        server.terminate()
        server.wait(10)
    assert log.exists()


def test_exec_without_a_target_runs_the_agent_with_its_tools(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    from tests.support.model_server import tool_call_reply

    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (tmp_path / ".env").write_text("TOKEN=sk-exec-canary\n")
    model.enqueue(tool_call_reply([("read_file", {"path": "calc.py"})]))
    model.enqueue(tool_call_reply([("read_file", {"path": ".env"})]))
    model.enqueue(
        tool_call_reply(
            [("edit_file", {"path": "calc.py", "old_string": "a - b", "new_string": "a + b"})]
        )
    )
    model.enqueue(tool_call_reply([("finish", {"summary": "fixed add"})]))
    done = agentls(
        "exec", "fix add", "--workspace", str(tmp_path), base_url=model.base_url, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    assert "-    return a - b\n+    return a + b" in done.stdout  # the task's diff
    assert "agentls: done: fixed add (4 steps, 1 files edited" in done.stderr
    assert "! read_file" in done.stderr and "a secret file" in done.stderr
    assert "sk-exec-canary" not in json.dumps(model.requests)


def test_exec_read_only_offers_no_writing_tool(model: ScriptedModelServer, tmp_path: Path) -> None:
    from tests.support.model_server import tool_call_reply

    (tmp_path / "calc.py").write_text("X = 1\n")
    model.enqueue(
        tool_call_reply([("write_file", {"path": "calc.py", "content": "X = 2\n"})]),
        tool_call_reply([("finish", {"summary": "could not write"})]),
    )
    done = agentls(
        "exec", "set X to 2", "--approval", "read-only", "--workspace", str(tmp_path),
        base_url=model.base_url, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "calc.py").read_text() == "X = 1\n"
    assert "no tool named 'write_file'" in done.stderr
    names = {t["function"]["name"] for t in model.requests[0]["tools"]}
    assert "write_file" not in names and "read_file" in names
