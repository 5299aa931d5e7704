"""stdio transport: stdin read by the event loop from a pipe, pygls's reader otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentls.lsp.stdio import loop_can_read

SERVER = [sys.executable, "-m", "agentls", "-v"]


def frame(message: dict[str, object]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


SESSION = b"".join(
    frame(m)
    for m in (
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"processId": None, "rootUri": None, "capabilities": {}},
        },
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {
            "jsonrpc": "2.0",
            "method": "textDocument/didOpen",
            "params": {
                "textDocument": {
                    "uri": "file:///w/a.py",
                    "languageId": "python",
                    "version": 0,
                    "text": "# agent: add a docstring 🚀\ndef f():\n    pass\n",
                }
            },
        },
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "textDocument/codeAction",
            "params": {
                "textDocument": {"uri": "file:///w/a.py"},
                "range": {
                    "start": {"line": 0, "character": 3},
                    "end": {"line": 0, "character": 3},
                },
                "context": {"diagnostics": []},
            },
        },
        {"jsonrpc": "2.0", "id": 3, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"},
    )
)


def responses(stdout: bytes) -> dict[int, object]:
    """Responses by id; fails on anything on stdout that is not a framed message."""
    out: dict[int, object] = {}
    while stdout:
        header, sep, rest = stdout.partition(b"\r\n\r\n")
        assert sep, f"not JSON-RPC framing: {stdout[:80]!r}"
        length = next(
            int(line.split(b":")[1])
            for line in header.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        message = json.loads(rest[:length])
        stdout = rest[length:]
        if "id" in message and "method" not in message:
            out[message["id"]] = message.get("result", message.get("error"))
    return out


def check(stdout: bytes) -> None:
    answers = responses(stdout)
    assert set(answers) >= {1, 2, 3}
    actions = answers[2]
    assert isinstance(actions, list)
    assert any(a["title"] == "Agent: add a docstring 🚀" for a in actions)


def test_over_pipes_stdin_is_read_by_the_event_loop(tmp_path: Path) -> None:
    proc = subprocess.run(SERVER, input=SESSION, capture_output=True, timeout=60)
    assert "stdin read by the event loop" in proc.stderr.decode(), proc.stderr.decode()
    check(proc.stdout)


@pytest.mark.parametrize("how", ["regular file", "AGENTLS_STDIO_THREAD=1"])
def test_otherwise_pyglss_threaded_reader(tmp_path: Path, how: str) -> None:
    env = {**os.environ}
    if how == "regular file":
        (tmp_path / "in").write_bytes(SESSION)
        with (tmp_path / "in").open("rb") as stdin:
            proc = subprocess.run(SERVER, stdin=stdin, capture_output=True, timeout=60)
    else:
        env["AGENTLS_STDIO_THREAD"] = "1"
        proc = subprocess.run(SERVER, input=SESSION, capture_output=True, timeout=60, env=env)
    assert "pygls's threaded reader" in proc.stderr.decode(), proc.stderr.decode()
    check(proc.stdout)


def test_loop_can_read_only_a_pipe_that_is_not_stdout(tmp_path: Path) -> None:
    read_fd, write_fd = os.pipe()
    other_read, other_write = os.pipe()
    with (
        os.fdopen(read_fd, "rb") as stdin,
        os.fdopen(write_fd, "wb"),
        os.fdopen(other_write, "wb") as stdout,
        os.fdopen(other_read, "rb"),
        os.fdopen(os.dup(read_fd), "rb") as same_pipe,
    ):
        assert loop_can_read(stdin, stdout)
        assert not loop_can_read(stdin, same_pipe)  # one file both ways
    (tmp_path / "f").write_bytes(b"")
    with (tmp_path / "f").open("rb") as regular, (tmp_path / "g").open("wb") as out:
        assert not loop_can_read(regular, out)
