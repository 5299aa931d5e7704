"""Serve LSP over stdio with stdin read by the event loop itself.

pygls 2 reads stdin through a thread pool: every header line and every body is one
``run_in_executor`` call, three thread hops per message, each a wake-up of a worker
thread and a hand-over of the GIL back to the loop (up to the switch interval when
another thread is busy). Here stdin is registered with the loop
(``connect_read_pipe``) and read by an ``asyncio.StreamReader``, as pygls already does
for TCP: a message costs one wake-up of the loop and no thread. Writing stays
pygls's blocking ``StdoutWriter`` (a small message to a pipe is one ``write``).

Only for a pipe that is not also stdout: ``connect_read_pipe`` makes the descriptor
non-blocking, which would leak into stdout if both were the same file (a socket or a
terminal). Anything else, or ``AGENTLS_STDIO_THREAD=1`` (for A/B benchmarks), uses
pygls's own reader.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import sys
import threading
from typing import Any, BinaryIO

from pygls.io_ import StdoutWriter, run_async
from pygls.lsp.server import LanguageServer

log = logging.getLogger(__name__)

SHUTDOWN_GRACE = 15.0  # seconds a shutdown may still take after stdin closed


def loop_can_read(stdin: BinaryIO, stdout: BinaryIO) -> bool:
    """True if stdin is a pipe the event loop can read without touching stdout."""
    if os.environ.get("AGENTLS_STDIO_THREAD") == "1":
        return False
    try:
        fd_in, fd_out = stdin.fileno(), stdout.fileno()
        st_in, st_out = os.fstat(fd_in), os.fstat(fd_out)
    except (OSError, ValueError, AttributeError):
        return False
    if not stat.S_ISFIFO(st_in.st_mode):
        return False
    return (st_in.st_dev, st_in.st_ino) != (st_out.st_dev, st_out.st_ino)


def serve_stdio(
    server: LanguageServer, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None
) -> None:
    """Run ``server`` on stdin/stdout until the client exits or closes stdin."""
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    if not loop_can_read(stdin, stdout):
        log.info("stdio: pygls's threaded reader")
        LanguageServer.start_io(server, stdin, stdout)
        return
    log.info("stdio: stdin read by the event loop")
    stop = server._stop_event = threading.Event()
    server.protocol.set_writer(StdoutWriter(stdout))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=1 << 20)  # header lines; bodies have no limit
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), stdin)
        await run_async(
            stop_event=stop,
            reader=reader,
            protocol=server.protocol,
            logger=log,
            error_handler=server.report_server_error,
        )
        # stdin is closed. A shutdown still running (it waits for tasks) gets to answer
        # and the ``exit`` read behind it to run, instead of being cancelled with the loop.
        answer = getattr(server.protocol, "_shutdown_answer", None)
        if answer is not None and not answer[1].done():
            try:
                await asyncio.wait_for(asyncio.wrap_future(answer[1]), SHUTDOWN_GRACE)
            except (TimeoutError, asyncio.CancelledError):
                return
            for _ in range(3):
                await asyncio.sleep(0)
        await end_the_rest(server)

    try:
        asyncio.run(main())
    except BrokenPipeError:
        log.error("the client closed the connection; shutting down")
    except (KeyboardInterrupt, SystemExit):  # SystemExit: the client's ``exit``
        pass
    finally:
        server.shutdown()  # type: ignore[no-untyped-call]


async def end_the_rest(server: LanguageServer) -> None:
    """The client is gone: cancel the tasks still running (their commands, their
    model streams) and let them finish here, rather than have ``asyncio.run`` cancel
    the open requests under pygls, which logs each with a traceback."""
    server.protocol.set_writer(_QuietWriter(server.protocol.writer))
    server.client_gone = True  # type: ignore[attr-defined]  # edits fail at once now
    tasks = getattr(server, "tasks", None)
    if tasks is not None:
        tasks.cancel()
        runners = [t.runner for t in tasks.tasks.values() if t.runner is not None]
        if runners:
            await asyncio.wait(runners, timeout=SHUTDOWN_GRACE)
    current = asyncio.current_task()
    rest = {t for t in asyncio.all_tasks() if t is not current and not t.done()}
    if rest:  # the requests of those tasks answer (into the void) and end on their own
        _, rest = await asyncio.wait(rest, timeout=1.0)
    for task in rest:
        task.cancel()
    if rest:
        await asyncio.wait(rest, timeout=2.0)
    close_model = getattr(server, "close_model", None)
    if close_model is not None:
        await close_model()


class _QuietWriter:
    """Once the client is gone, what is still sent goes nowhere, without an error."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer

    def close(self) -> None:
        try:
            self.writer.close()
        except OSError:
            pass

    def write(self, data: bytes) -> None:
        try:
            self.writer.write(data)
        except OSError:  # BrokenPipeError: the client closed its end
            pass
