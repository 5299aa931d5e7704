"""Round 4 as a second local process: the ``--tcp`` token's folder planted in the temp
folder before the server starts, and a connection that stalls to lock the user out."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTLS_"))}
    env.pop("XDG_RUNTIME_DIR", None)
    env["TMPDIR"] = str(tmp)
    return env


def test_r4_29_a_token_folder_another_user_planted_is_not_used(tmp_path: Path) -> None:
    """Another local user makes ``$TMPDIR/agentls-UID`` first (world-writable, theirs)
    to read the token the server writes there: the server refuses to serve."""
    planted = tmp_path / f"agentls-{os.getuid()}"
    planted.mkdir()
    planted.chmod(0o777)
    if os.getuid() == 0:
        os.chown(planted, 65534, 65534)  # nobody's, as another user would leave it
    port = _port()
    done = subprocess.run(
        [sys.executable, "-m", "agentls", "--tcp", str(port)],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode != 0
    assert "not a private folder" in done.stderr, done.stderr
    assert list(planted.iterdir()) == []


def _frame(payload: dict[str, object]) -> bytes:
    body = json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def _read_frame(conn: socket.socket) -> dict[str, object]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        assert chunk, "closed"
        data += chunk
    header, _, rest = data.partition(b"\r\n\r\n")
    fields = dict(line.split(b": ", 1) for line in header.split(b"\r\n"))
    length = int(fields[b"Content-Length"])
    while len(rest) < length:
        chunk = conn.recv(4096)
        assert chunk, "closed"
        rest += chunk
    answer = json.loads(rest[:length])
    assert isinstance(answer, dict)
    return answer


@pytest.mark.timeout(60)
def test_r4_30_stalled_and_oversized_connections_do_not_lock_the_user_out(
    tmp_path: Path,
) -> None:
    """Ten connections that send half a header and stall, and one announcing a 2 GB
    body, made before the user's editor connects: the user's client (with the token)
    is answered at once; the stalled ones are closed."""
    port = _port()
    env = {**_env(tmp_path), "AGENTLS_TOKEN": "r4-user-token"}
    server = subprocess.Popen(
        [sys.executable, "-m", "agentls", "--tcp", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    stalled: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                stalled.append(socket.create_connection(("127.0.0.1", port), timeout=5))
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not listen"
                time.sleep(0.1)
        stalled[0].sendall(b"Content-Length: 10")
        for _ in range(9):
            conn = socket.create_connection(("127.0.0.1", port), timeout=5)
            conn.sendall(b"Content-Le")
            stalled.append(conn)
        big = socket.create_connection(("127.0.0.1", port), timeout=5)
        big.sendall(b"Content-Length: 2000000000\r\n\r\n{")
        stalled.append(big)
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as user:
            init = {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "capabilities": {},
                    "initializationOptions": {"token": "r4-user-token"},
                },
            }
            user.sendall(_frame(init))
            answer = _read_frame(user)
            assert "result" in answer, answer
            assert time.monotonic() - started < 8
            user.sendall(_frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
            user.sendall(_frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
            assert _read_frame(user).get("id") == 2
            user.sendall(_frame({"jsonrpc": "2.0", "method": "exit"}))
        assert server.wait(20) is not None
        assert server.stdout is not None and server.stdout.read() == b""
    finally:
        for conn in stalled:
            conn.close()
        if server.poll() is None:
            server.kill()
            server.wait()
