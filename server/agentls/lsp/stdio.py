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
from typing import BinaryIO

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

    try:
        asyncio.run(main())
    except BrokenPipeError:
        log.error("the client closed the connection; shutting down")
    except (KeyboardInterrupt, SystemExit):  # SystemExit: the client's ``exit``
        pass
    finally:
        server.shutdown()  # type: ignore[no-untyped-call]
