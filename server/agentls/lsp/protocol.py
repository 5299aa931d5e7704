"""pygls's protocol without its own copy of every open document.

pygls keeps each document and applies every change with a Python loop over all the
document's lines: milliseconds per keystroke (and per streamed edit) on a big file.
agentls keeps documents in its own ``DocumentStore``, so these builtin handlers only
pass the notification on to ours. Shutdown is fixed for requests still open.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from concurrent.futures import Future
from typing import Any

from lsprotocol import types
from pygls.protocol import LanguageServerProtocol, lsp_method


class AgentProtocol(LanguageServerProtocol):
    _shutdown_answer: tuple[Any, Future[Any]] | None = None  # (request id, its future)

    @lsp_method(types.SHUTDOWN)
    def lsp_shutdown(self, *args: Any) -> Generator[Any, Any, None]:
        """pygls's shutdown, iterating over a copy of the open requests: cancelling one
        runs callbacks that remove it, which broke pygls's own loop (2.1.1)."""
        answer = self._request_futures.get(self.msg_id) if self.msg_id is not None else None
        if answer is not None:
            self._shutdown_answer = (self.msg_id, answer)
        if (user_handler := self.fm.features.get(types.SHUTDOWN)) is not None:
            yield user_handler, args, None
        current_id = self.msg_id
        for msg_id, future in list(self._request_futures.items()):
            if msg_id != current_id and not future.done():
                future.cancel()
        self._shutdown = True
        return None

    @lsp_method(types.EXIT)
    def lsp_exit(self, *args: Any) -> Generator[Any, Any, None]:
        """pygls's exit, but not before the answer to ``shutdown`` is out: our shutdown
        waits for running tasks, and a client that sends ``exit`` right behind
        ``shutdown`` (the loop reads stdin itself, so it sees it at once) would lose
        the answer when pygls closed stdout."""
        pending = self._shutdown_answer
        if pending is not None and self._request_futures.get(pending[0]) is pending[1]:
            loop = asyncio.get_running_loop()
            # Runs after pygls's own callback, which sends the answer.
            pending[1].add_done_callback(lambda _: loop.call_soon(self._exit_now, args))
            return
        yield from LanguageServerProtocol.lsp_exit(self, *args)

    def _exit_now(self, args: tuple[Any, ...]) -> None:
        for _ in LanguageServerProtocol.lsp_exit(self, *args):
            pass  # it yields only a user exit handler, and we register none

    def _user(self, method: str, params: Any) -> Generator[Any, Any, None]:
        if (handler := self.fm.features.get(method)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(
        self, params: types.DidOpenTextDocumentParams
    ) -> Generator[Any, Any, None]:
        yield from self._user(types.TEXT_DOCUMENT_DID_OPEN, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(
        self, params: types.DidChangeTextDocumentParams
    ) -> Generator[Any, Any, None]:
        yield from self._user(types.TEXT_DOCUMENT_DID_CHANGE, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(
        self, params: types.DidCloseTextDocumentParams
    ) -> Generator[Any, Any, None]:
        yield from self._user(types.TEXT_DOCUMENT_DID_CLOSE, params)
