"""``$/progress`` for a task when the client supports it; silence when it does not."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Protocol

from lsprotocol import types
from pygls.progress import Progress

log = logging.getLogger(__name__)

REPORTS_PER_SECOND = 4


class ProgressClient(Protocol):
    """What progress needs of the server: whether the client shows it, and pygls' sender."""

    @property
    def supports_progress(self) -> bool: ...

    @property
    def work_done_progress(self) -> Progress: ...


class TaskProgress:
    def __init__(self, server: ProgressClient, token: types.ProgressToken | None) -> None:
        self.server = server
        self.token = token
        self.active = False
        self.last_report = 0.0

    @classmethod
    async def start(
        cls,
        server: ProgressClient,
        title: str,
        token: types.ProgressToken | None,
        on_cancel: Callable[[], object],
    ) -> TaskProgress:
        """Begin a cancellable progress; uses the client's token or creates one."""
        if token is None and server.supports_progress:
            token = f"agentls-{uuid.uuid4().hex[:12]}"
            try:
                await server.work_done_progress.create_async(token)
            except Exception as error:  # the client refused: go on without progress
                log.info("progress not created: %s", error)
                token = None
        progress = cls(server, token)
        if token is None:
            return progress
        server.work_done_progress.begin(
            token, types.WorkDoneProgressBegin(title=title, cancellable=True, message="starting")
        )
        cancel_future = server.work_done_progress.tokens.get(token)
        if cancel_future is not None:
            cancel_future.add_done_callback(lambda f: on_cancel() if f.cancelled() else None)
        progress.active = True
        return progress

    def report(self, message: str) -> None:
        """Report at most ``REPORTS_PER_SECOND`` times a second (the last word wins at end)."""
        now = time.monotonic()
        if now - self.last_report < 1 / REPORTS_PER_SECOND:
            return
        self.last_report = now
        if self.active and self.token is not None:
            self.server.work_done_progress.report(
                self.token, types.WorkDoneProgressReport(message=message, cancellable=True)
            )

    def end(self, message: str) -> None:
        if self.active and self.token is not None:
            self.server.work_done_progress.end(
                self.token, types.WorkDoneProgressEnd(message=message)
            )
            self.server.work_done_progress.tokens.pop(self.token, None)
            self.active = False
