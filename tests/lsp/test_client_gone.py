"""The editor gone mid-task (its pipes closed while the task waits on the model or runs
a command): the server exits on its own, leaves no process behind and logs no traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.lsp_session import SERVER, model_options
from tests.support.model_server import ScriptedModelServer, hang_reply, tool_call_reply

EDIT_CLOSED = (
    "edit_file",
    {"path": "app/helper.py", "old_string": "return 1", "new_string": "return 2"},
)


def project(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "app").mkdir(parents=True)
    (root / "app/text.py").write_text("def slugify(value):\n    return value.lower()\n")
    (root / "app/helper.py").write_text("def helper():\n    return 1\n")
    return root


def settings(model: ScriptedModelServer, approval: str, **more: Any) -> Any:
    return {**model_options(model.base_url, **more), "agent": {"approval": approval}}


def env_for(tmp_path: Path) -> dict[str, str]:
    return {"AGENTLS_CACHE_DIR": str(tmp_path / "cache")}


def _frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message).encode()
    return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        kids = [child for child, ppid in parents.items() if ppid == parent]
        found += kids
        todo += kids
    return found


@pytest.fixture
def threaded_model() -> Iterator[ScriptedModelServer]:
    """A test without an event loop: the scripted server on its own thread."""
    server = ScriptedModelServer()
    server.start_in_thread()
    try:
        yield server
    finally:
        server.stop_in_thread()


def client_gone(tmp_path: Path, busy: str, model: ScriptedModelServer) -> str:
    """Start a task busy with ``busy``, then close the client's pipes; the server's
    stderr once it exited on its own."""
    root = project(tmp_path)
    marker = root / "started"
    if busy == "model":
        model.enqueue(tool_call_reply([EDIT_CLOSED]), hang_reply())
    else:
        model.enqueue(
            tool_call_reply([("run_command", {"command": "touch started; sleep 60"})]),
        )
    options = settings(model, approval="full-auto", timeout=60)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTLS_"))}
    env.update(env_for(tmp_path))
    stderr = (tmp_path / "stderr").open("wb")
    server = subprocess.Popen(
        SERVER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env
    )
    assert server.stdin is not None and server.stdout is not None
    messages: list[dict[str, Any]] = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "processId": None,
                "rootUri": root.as_uri(),
                "capabilities": {"workspace": {"applyEdit": True}},
                "initializationOptions": options,
            },
        },
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "workspace/executeCommand",
            "params": {"command": "agentls.run", "arguments": [{"instruction": "go"}]},
        },
    ]
    server.stdin.write(b"".join(_frame(m) for m in messages))
    server.stdin.flush()
    os.set_blocking(server.stdout.fileno(), False)
    seen = b""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        # Answer the server's requests (applyEdit: applied; anything else: null).
        chunk = server.stdout.read() or b""
        seen += chunk
        for raw in chunk.split(b"Content-Length")[1:]:
            body = raw[raw.index(b"{") :] if b"{" in raw else b""
            try:
                message = json.loads(body)
            except ValueError:
                continue
            if "method" in message and "id" in message:
                result: Any = (
                    {"applied": True} if message["method"] == "workspace/applyEdit" else None
                )
                server.stdin.write(
                    _frame({"jsonrpc": "2.0", "id": message["id"], "result": result})
                )
                server.stdin.flush()
        if busy == "model" and len(model.requests) >= 2:
            break
        if busy == "command" and marker.exists():
            break
        time.sleep(0.02)
    else:
        server.kill()
        pytest.fail(f"the task never got busy: {seen[-500:]!r}")
    children = _descendants(server.pid)
    assert busy == "model" or children, "the command runs in a child process"
    # The editor is gone: its end of both pipes closes at once.
    server.stdin.close()
    server.stdout.close()
    try:
        code = server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.send_signal(signal.SIGKILL)
        pytest.fail("the server did not exit after its client went away")
    stderr.close()
    log = (tmp_path / "stderr").read_text()
    assert code in (0, 1), (code, log)
    time.sleep(0.3)
    left = [p for p in children if _alive(p)]
    assert not left, f"processes left behind: {left}"
    return log


@pytest.mark.parametrize("busy", ["model", "command"])
def test_the_client_gone_mid_task_the_server_exits_and_leaves_no_process(
    tmp_path: Path, busy: str, threaded_model: ScriptedModelServer
) -> None:
    """The editor dies while a task waits on the model (or runs a command): its pipes
    close, and the server exits on its own, leaving no process behind."""
    client_gone(tmp_path, busy, threaded_model)


def test_the_client_gone_mid_task_logs_no_traceback(
    tmp_path: Path, threaded_model: ScriptedModelServer
) -> None:
    log = client_gone(tmp_path, "model", threaded_model)
    assert "Traceback" not in log, log
