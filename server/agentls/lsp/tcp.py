"""Serve LSP over TCP (or a unix socket) to the client that started the server, and
nobody else.

Any local process can open a port on 127.0.0.1, so ``agentls --tcp PORT`` asks for
proof: a token that only the user has. It is ``AGENTLS_TOKEN`` from the server's
environment when set, else a fresh random one, written to a file only the user can
read (mode 0600, in a 0700 folder of ``$XDG_RUNTIME_DIR`` or the temp folder) whose
path goes to stderr (stdout stays for JSON-RPC only). The client's first message
must be ``initialize`` with ``initializationOptions.token`` (or
``initializationOptions.agentls.token``) equal to it; the token is taken out before
the settings are read.

A connection that does not prove it is closed without touching the session: input
that is not an LSP header (an HTTP request, anything else) is closed at once without
an answer, a wrong or missing token gets one JSON-RPC error, and a second client
while one is served is refused. Only the proven client's disconnect ends the server.

``--socket PATH`` needs no token: the socket is made 0600 in a folder that must be the
user's own and closed to others (0700); the rest is the same.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import re
import secrets
import stat
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pygls.io_ import run_async
from pygls.lsp.server import LanguageServer

from agentls.lsp.stdio import end_the_rest

log = logging.getLogger(__name__)

FIRST_MESSAGE_SECONDS = 10.0
FIRST_MESSAGE_BYTES = 1 << 20
HEADER = re.compile(rb"(?i)^(content-length|content-type): [^\r\n]*\r\n$")
LENGTH = re.compile(rb"(?i)^content-length: (\d+)\r\n$")


class Refused(Exception):
    """The connection is not the user's client; ``str``: why (for the log)."""


def token_for(port: int) -> tuple[str, Path | None]:
    """The token clients must send, and the file it was written to (None: it came
    from ``AGENTLS_TOKEN``)."""
    given = os.environ.get("AGENTLS_TOKEN", "").strip()
    if given:
        return given, None
    token = secrets.token_urlsafe(32)
    folder = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir())
    folder = folder / f"agentls-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    info = os.lstat(folder)
    if info.st_uid != os.getuid() or (info.st_mode & 0o077) or not folder.is_dir():
        raise SystemExit(f"agentls: {folder} is not a private folder of this user; not serving")
    path = folder / f"tcp-{port}.token"
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token, path


async def read_first_message(reader: asyncio.StreamReader) -> bytes:
    """The body of the first message, or ``Refused`` for what is not LSP."""
    length = None
    while True:
        line = await reader.readline()
        if not line:
            raise Refused("closed before a message")
        if line == b"\r\n":
            break
        if not HEADER.match(line):
            raise Refused(f"not an LSP header: {line[:40]!r}")  # GET / HTTP/1.1, …
        found = LENGTH.match(line)
        if found:
            length = int(found.group(1))
    if length is None or length > FIRST_MESSAGE_BYTES:
        raise Refused(f"a first message of {length} bytes")
    return await reader.readexactly(length)


def check(body: bytes, token: str | None) -> dict[str, Any]:
    """The ``initialize`` request with its token taken out; ``Refused`` otherwise
    (``token`` None: no token is asked)."""
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):  # (nested past the parser's depth)
        raise Refused("not JSON") from None
    if not isinstance(message, dict) or message.get("method") != "initialize":
        raise Refused("the first message is not initialize")
    params = message.get("params")
    options = params.get("initializationOptions") if isinstance(params, dict) else None
    given = None
    for holder in (options, options.get("agentls") if isinstance(options, dict) else None):
        if isinstance(holder, dict) and "token" in holder:
            given = holder.pop("token")
    if token is None:
        return message
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), token.encode()):
        raise Refused("a missing or wrong token")
    return message


def serve_tcp(server: LanguageServer, host: str, port: int) -> None:
    token, path = token_for(port)
    where = f"the token in {path} (mode 0600)" if path else "the token in AGENTLS_TOKEN"
    print(
        f"agentls: serving LSP on {host}:{port}; a client proves it is yours by sending "
        f"{where} as initializationOptions.token",
        file=sys.stderr,
        flush=True,
    )
    try:
        serve(server, lambda connected: asyncio.start_server(connected, host, port), token)
    finally:
        if path is not None:
            path.unlink(missing_ok=True)


def serve_socket(server: LanguageServer, path: Path) -> None:
    """Serve on a unix socket only this user can open: its folder must be this user's
    and closed to others (0700), the socket itself is made 0600. No token is needed."""
    path = path.absolute()
    info = os.lstat(path.parent)
    if info.st_uid != os.getuid() or (info.st_mode & 0o077) or not stat.S_ISDIR(info.st_mode):
        raise SystemExit(
            f"agentls: {path.parent} must be a folder of this user that others cannot open "
            "(chmod 700); not serving"
        )
    if path.is_socket():
        path.unlink()  # a stale socket of an earlier run

    async def listen(connected: Connected) -> asyncio.Server:
        old = os.umask(0o177)
        try:
            listener = await asyncio.start_unix_server(connected, str(path))
        finally:
            os.umask(old)
        print(f"agentls: serving LSP on the unix socket {path}", file=sys.stderr, flush=True)
        return listener

    try:
        serve(server, listen, None)
    finally:
        path.unlink(missing_ok=True)


Connected = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def serve(
    server: LanguageServer,
    listen: Callable[[Connected], Awaitable[asyncio.Server]],
    token: str | None,
) -> None:
    """One proven client (``token``: None when the socket itself is the proof)."""
    stop = server._stop_event = threading.Event()
    ended = asyncio.Event()
    served = False

    async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        body = b""
        try:
            body = await asyncio.wait_for(read_first_message(reader), FIRST_MESSAGE_SECONDS)
            message = check(body, token)
            if served:
                raise Refused("a client is already served")
        except (Refused, TimeoutError, asyncio.IncompleteReadError, ValueError) as error:
            log.warning("refused a connection: %s", error)
            if isinstance(error, Refused) and "token" in str(error):
                _answer_error(writer, body_id(body), "agentls: a missing or wrong token")
            writer.close()
            return
        served = True
        log.info("serving the client")
        server.protocol.set_writer(writer)  # type: ignore[arg-type]
        server.protocol.handle_message(
            json.loads(json.dumps(message), object_hook=server.protocol.structure_message)
        )
        try:
            await run_async(
                stop_event=stop,
                reader=reader,
                protocol=server.protocol,
                logger=log,
                error_handler=server.report_server_error,
            )
        finally:
            ended.set()

    async def main() -> None:
        listener = await listen(connected)
        async with listener:
            await ended.wait()
        answer = getattr(server.protocol, "_shutdown_answer", None)
        if answer is not None and not answer[1].done():
            try:
                await asyncio.wait_for(asyncio.wrap_future(answer[1]), 15)
            except (TimeoutError, asyncio.CancelledError):
                return
        await end_the_rest(server)

    try:
        asyncio.run(main())
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()  # type: ignore[no-untyped-call]


def body_id(body: object) -> Any:
    try:
        message = json.loads(body) if isinstance(body, bytes) else None
    except (ValueError, RecursionError):
        return None
    return message.get("id") if isinstance(message, dict) else None


def _answer_error(writer: asyncio.StreamWriter, request_id: Any, text: str) -> None:
    payload = json.dumps(
        {"jsonrpc": "2.0", "id": request_id, "error": {"code": -32001, "message": text}}
    ).encode()
    writer.write(b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload))
