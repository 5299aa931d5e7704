"""The server's protocol forgets notifications once handled (pygls 2.1.1 keeps a
future per notification of its builtin handlers forever: ~1.3 kB per keystroke)."""

from __future__ import annotations

import asyncio
import io
from typing import Any

from pygls.io_ import StdoutWriter

from agentls.lsp.handlers import create_server


def message(method: str, params: dict[str, Any], msg_id: int | None = None) -> Any:
    data: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
    if msg_id is not None:
        data["id"] = msg_id
    return data


async def test_a_thousand_keystrokes_leave_no_futures_behind() -> None:
    server = create_server()
    protocol = server.protocol
    out = io.BytesIO()
    protocol.set_writer(StdoutWriter(out))
    uri = "file:///tmp/agentls-memory/a.py"

    def feed(data: Any) -> None:
        protocol.handle_message(protocol.structure_message(data))

    feed(message("initialize", {"processId": None, "rootUri": None, "capabilities": {}}, 1))
    await asyncio.sleep(0.05)
    feed(message("initialized", {}))
    doc = {"uri": uri, "languageId": "python", "version": 0, "text": "x = 1\n"}
    feed(message("textDocument/didOpen", {"textDocument": doc}))
    for version in range(1, 1001):
        change = {
            "range": {"start": {"line": 0, "character": 5}, "end": {"line": 0, "character": 5}},
            "text": "1",
        }
        feed(
            message(
                "textDocument/didChange",
                {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]},
            )
        )
    for _ in range(20):
        await asyncio.sleep(0.01)
    assert server.store.snapshot(uri).text == "x = 1" + "1" * 1000 + "\n"
    assert len(protocol._request_futures) < 10, len(protocol._request_futures)
    assert b'"id": 1' in out.getvalue()  # the initialize answer went out
    server.trees.shutdown()
