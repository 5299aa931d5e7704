"""``--tcp`` against other local processes (issue 12, class 9), over the real server:
only the client holding the token is served; HTTP-shaped input gets no answer; an
attacker's connection never ends or takes over the user's session. And a settings
change that would send the API key to a new host asks the user first (over stdio)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from lsprotocol import types

from tests.support.lsp_session import lsp_session, model_options, run
from tests.support.model_server import ScriptedModelServer, text_reply, tool_call_reply


def frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def initialize(options: Any = None, request_id: int = 1) -> dict[str, Any]:
    params = {"capabilities": {}, "processId": None, "initializationOptions": options}
    return {"jsonrpc": "2.0", "id": request_id, "method": "initialize", "params": params}


class Client:
    """A raw JSON-RPC client over one TCP connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, port: int) -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    def send(self, message: dict[str, Any]) -> None:
        self.writer.write(frame(message))

    async def receive(self, timeout: float = 10) -> dict[str, Any] | None:
        """The next message, or None when the server closed the connection."""
        try:
            header = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), timeout)
        except asyncio.IncompleteReadError:
            return None
        length = int(header.split(b":")[1].split(b"\r\n")[0])
        result: dict[str, Any] = json.loads(await self.reader.readexactly(length))
        return result

    async def answer_to(self, request_id: int) -> dict[str, Any]:
        while True:
            message = await self.receive()
            assert message is not None, "the server closed the connection"
            if message.get("id") == request_id and "method" not in message:
                return message

    async def closed_without_answer(self) -> bool:
        data = await asyncio.wait_for(self.reader.read(), 15)
        return data == b""

    def close(self) -> None:
        self.writer.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def private_token(path: Path) -> str:
    """The token in ``path``, which only this user may read."""
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    return path.read_text().strip()


@asynccontextmanager
async def tcp_server(tmp_path: Path, **env: str) -> AsyncIterator[tuple[int, str, Any]]:
    """(port, token, process) of ``agentls --tcp PORT`` with a private runtime folder."""
    port = free_port()
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTLS_"))}
    full_env.update(XDG_RUNTIME_DIR=str(runtime), AGENTLS_CACHE_DIR=str(tmp_path / "cache"))
    full_env.update(env)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agentls", "--tcp", str(port),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=full_env,
    )  # fmt: skip
    assert proc.stderr is not None
    line = (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()
    assert f"127.0.0.1:{port}" in line, line
    token = env.get("AGENTLS_TOKEN", "")
    if not token:
        token = private_token(Path(line.split("the token in ")[1].split(" (mode")[0]))
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            break
        except OSError:
            await asyncio.sleep(0.1)
    try:
        yield port, token, proc
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def test_only_the_token_holder_is_served_and_attackers_never_end_the_session(
    tmp_path: Path,
) -> None:
    async with tcp_server(tmp_path) as (port, token, proc):
        # Before the user: an HTTP POST (a browser page, curl), no token, a wrong one.
        http = await Client.connect(port)
        body = json.dumps(initialize({"model": {"baseUrl": "http://evil"}})).encode()
        http.writer.write(
            b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        assert await http.closed_without_answer()
        for options in (None, {"token": "guess"}, {"agentls": {"token": token[:-1] + "x"}}):
            attacker = await Client.connect(port)
            attacker.send(initialize(options))
            answer = await attacker.receive()
            assert answer is not None and "token" in answer["error"]["message"], answer
            assert await attacker.receive() is None  # then closed
        settings_first = await Client.connect(port)
        settings_first.send(
            {"jsonrpc": "2.0", "method": "workspace/didChangeConfiguration", "params": {}}
        )
        assert await settings_first.closed_without_answer()
        # The user, with the token.
        user = await Client.connect(port)
        user.send(initialize({"token": token, "agent": {"approval": "ask"}}))
        answer = await user.answer_to(1)
        assert "agentls.run" in json.dumps(answer["result"]), answer
        user.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        # During the session: an attacker with a well-formed initialize, then gone.
        attacker = await Client.connect(port)
        attacker.send(initialize({"agent": {"approval": "full-auto"}}, 7))
        assert (await attacker.receive()) is not None
        attacker.close()
        http = await Client.connect(port)
        http.writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert await http.closed_without_answer()
        await asyncio.sleep(0.5)
        assert proc.returncode is None  # the session goes on
        user.send(
            {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "workspace/executeCommand",
                "params": {"command": "agentls.status", "arguments": []},
            }
        )
        status = await user.answer_to(2)
        assert "result" in status, status
        user.send({"jsonrpc": "2.0", "id": 3, "method": "shutdown"})
        await user.answer_to(3)
        user.send({"jsonrpc": "2.0", "method": "exit"})
        await asyncio.wait_for(proc.wait(), 20)
        assert proc.stdout is not None and await proc.stdout.read() == b""


async def test_a_token_from_the_environment_writes_no_file(tmp_path: Path) -> None:
    async with tcp_server(tmp_path, AGENTLS_TOKEN="my-editor-config-token-1") as (port, _, _p):
        assert not list((tmp_path / "run").rglob("*.token"))
        user = await Client.connect(port)
        user.send(initialize({"agentls": {"token": "my-editor-config-token-1"}}))
        answer = await user.answer_to(1)
        assert "result" in answer, answer
        user.close()


async def test_a_settings_change_that_sends_the_key_elsewhere_asks_first(
    model_server: ScriptedModelServer, tmp_path: Path
) -> None:
    """Over stdio: the editor's first settings use model server A with the user's key;
    a later ``workspace/configuration`` (a workspace's own settings) points at B with
    ``apiKeyEnv: AWS_SECRET_ACCESS_KEY``. Without a yes, B gets nothing."""
    evil = ScriptedModelServer()
    await evil.start()
    try:
        root = tmp_path / "ws"
        root.mkdir()
        env = {
            "OPENAI_API_KEY": "sk-user-key",
            "AWS_SECRET_ACCESS_KEY": "aws-canary-2b1",
            "AGENTLS_CACHE_DIR": str(tmp_path / "cache"),
        }
        options = {**model_options(model_server.base_url), "agent": {"askTimeout": 3}}
        redirected = {
            "agentls": {
                **model_options(evil.base_url, apiKeyEnv="AWS_SECRET_ACCESS_KEY"),
                "agent": {"askTimeout": 3},
            }
        }
        async with lsp_session(options, root_uri=root.as_uri(), env=env) as (client, editor):
            client.set_configuration(redirected)
            client.workspace_did_change_configuration(
                types.DidChangeConfigurationParams(settings=None)
            )
            for _ in range(100):
                if editor.asked:
                    break
                await asyncio.sleep(0.05)
            assert len(editor.asked) == 1, editor.asked  # closed: no answer = no
            assert "AWS_SECRET_ACCESS_KEY" in editor.asked[0] and "127.0.0.1" in editor.asked[0]
            await asyncio.sleep(0.3)
            model_server.enqueue(tool_call_reply([("finish", {"summary": "ok"})]))
            result = await run(client, {"instruction": "hello", "mode": "ask"})
            assert evil.requests == [] and len(model_server.requests) == 1, result
            # Asked again, the user allows it: now B is used.
            editor.answers = ["Allow"]
            client.workspace_did_change_configuration(
                types.DidChangeConfigurationParams(settings=None)
            )
            for _ in range(100):
                if len(editor.asked) == 2 and not editor.answers:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            evil.enqueue(text_reply("answer from B"))
            result = await run(client, {"instruction": "hello", "mode": "ask"})
            assert len(evil.requests) == 1, result
    finally:
        await evil.stop()


async def test_a_unix_socket_only_this_user_can_open(tmp_path: Path) -> None:
    """``--socket PATH``: refused in a folder others can open; in a 0700 folder the
    socket is 0600, the client needs no token, a second client and HTTP are refused."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTLS_"))}
    env["AGENTLS_CACHE_DIR"] = str(tmp_path / "cache")
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    refused = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agentls", "--socket", str(shared / "agentls.sock"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    _, err = await asyncio.wait_for(refused.communicate(), 30)
    assert refused.returncode != 0 and b"chmod 700" in err, err
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    sock = private / "agentls.sock"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agentls", "--socket", str(sock),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        line = await asyncio.wait_for(proc.stderr.readline(), 30)
        assert str(sock).encode() in line, line
        assert stat.S_IMODE(sock.lstat().st_mode) == 0o600
        reader, writer = await asyncio.open_unix_connection(str(sock))
        user = Client(reader, writer)
        user.send(initialize({"agent": {"approval": "ask"}}))
        answer = await user.answer_to(1)
        assert "agentls.run" in json.dumps(answer["result"]), answer
        for first in (frame(initialize(None, 5)), b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"):
            other = Client(*await asyncio.open_unix_connection(str(sock)))
            other.writer.write(first)
            assert await other.closed_without_answer()
        user.send({"jsonrpc": "2.0", "id": 3, "method": "shutdown"})
        await user.answer_to(3)
        user.send({"jsonrpc": "2.0", "method": "exit"})
        await asyncio.wait_for(proc.wait(), 20)
        assert not sock.exists()
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
