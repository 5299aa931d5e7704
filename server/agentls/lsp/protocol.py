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

import attrs
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.protocol import LanguageServerProtocol, lsp_method
from pygls.protocol.json_rpc import JsonRPCNotification

_IGNORED = "$/agentls/invalidMessage"  # what a message that cannot be read becomes


class AgentProtocol(LanguageServerProtocol):
    _shutdown_answer: tuple[Any, Future[Any]] | None = None  # (request id, its future)

    def structure_message(self, data: dict[str, Any]) -> Any:
        """pygls's, but a request whose params cannot be read (``executeCommand`` with
        ``null`` params, a position of strings) is answered with the error: pygls
        raised it inside the JSON reader and the request was never answered."""
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            msg_id = data.get("id")
            if "method" in data and isinstance(msg_id, int | str):
                self._send_response(msg_id, error=error.to_response_error())
            return JsonRPCNotification(method=_IGNORED, jsonrpc="2.0", params=None)

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

    @lsp_method(types.WORKSPACE_EXECUTE_COMMAND)
    def lsp_workspace__execute_command(
        self, params: types.ExecuteCommandParams
    ) -> Generator[Any, Any, Any]:
        """pygls's, with the contract's one JSON object: no arguments (``[]``, none) is
        the empty object, which a command whose arguments are all optional takes (an
        editor sends ``agentls.status`` either way); more than one is refused."""
        arguments = list(params.arguments or [])
        if len(arguments) > 1:
            raise JsonRpcInvalidParams.of(
                ValueError(f"the arguments must be one JSON object, not {len(arguments)}")
            )
        params = attrs.evolve(params, arguments=arguments or [{}])
        return (yield from LanguageServerProtocol.lsp_workspace__execute_command(self, params))

    def _execute_handler(
        self, msg_id: Any, handler: Any, callback: Any, *args: Any, **kwargs: Any
    ) -> Any:
        """pygls's, but an entry of ``_request_futures`` goes once its future is done
        (pygls 2.1.1 keeps one per notification its builtin handlers run, and one per
        user handler they yield to: ~1.3 kB per keystroke, forever). Only a running
        request can be cancelled, so a done one has nothing left to be found for. The
        entry goes after pygls's own callback, which sends the answer."""
        result = super()._execute_handler(msg_id, handler, callback, *args, **kwargs)
        future = self._request_futures.get(msg_id)
        if future is not None:
            if future.done():
                self._request_futures.pop(msg_id, None)
            else:
                future.add_done_callback(lambda _: self._forget(msg_id, future))
        return result

    def _forget(self, msg_id: Any, future: Future[Any]) -> None:
        if self._request_futures.get(msg_id) is future:
            del self._request_futures[msg_id]

    def _exit_now(self, args: tuple[Any, ...]) -> None:
        for _ in LanguageServerProtocol.lsp_exit(self, *args):
            pass  # it yields only a user exit handler, and we register none

    def warm_messages(self) -> None:
        """Have cattrs generate the (un)structure code of a task's messages now (in a
        warm-up thread): generated on first use, it cost the session's first task
        10-30 ms of event loop time."""
        rng = types.Range(
            start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)
        )
        document = types.OptionalVersionedTextDocumentIdentifier(uri="file:///warm", version=1)
        edit = types.WorkspaceEdit(
            document_changes=[
                types.TextDocumentEdit(
                    text_document=document, edits=[types.TextEdit(range=rng, new_text="")]
                )
            ]
        )
        applied = {"applied": True}
        outgoing: list[tuple[str, Any, Any]] = [  # (method, params, the client's answer)
            (types.WORKSPACE_APPLY_EDIT, types.ApplyWorkspaceEditParams(edit, "w"), applied),
            (types.WINDOW_WORK_DONE_PROGRESS_CREATE, types.WorkDoneProgressCreateParams("w"), None),
            (types.PROGRESS, types.ProgressParams("w", types.WorkDoneProgressBegin("w")), None),
            (types.PROGRESS, types.ProgressParams("w", types.WorkDoneProgressReport()), None),
            (types.PROGRESS, types.ProgressParams("w", types.WorkDoneProgressEnd()), None),
            (types.WINDOW_SHOW_MESSAGE, types.ShowMessageParams(types.MessageType.Info, "w"), None),
        ]
        convert = self._converter
        for method, params, answer in outgoing:
            message_type = self.get_message_type(method)
            if message_type is None:
                continue
            fields = {"method": method, "params": params, "jsonrpc": "2.0"}
            if "id" in {a.name for a in attrs.fields(message_type)}:
                fields["id"] = "warm"
            convert.unstructure(message_type(**fields))
            result_type = self.get_result_type(method)
            if result_type is not None:
                convert.structure({"jsonrpc": "2.0", "id": "warm", "result": answer}, result_type)
        incoming = [
            {
                "jsonrpc": "2.0",
                "method": types.TEXT_DOCUMENT_DID_CHANGE,
                "params": {
                    "textDocument": {"uri": "file:///warm", "version": 2},
                    "contentChanges": [
                        {"range": convert.unstructure(rng), "text": ""},
                        {"text": ""},
                    ],
                },
            },
            {
                "jsonrpc": "2.0",
                "id": "warm",
                "method": types.WORKSPACE_EXECUTE_COMMAND,
                "params": {"command": "agentls.run", "arguments": [{"uri": "file:///warm"}]},
            },
        ]
        for message in incoming:
            message_type = self.get_message_type(str(message["method"]))
            if message_type is not None:
                convert.structure(message, message_type)

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
