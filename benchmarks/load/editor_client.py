"""``EditorClient``: a raw JSON-RPC client over the server's stdio that behaves like an
editor (versioned applyEdit on its own buffers, stale edits refused like eglot,
didChange at once, showMessageRequest answered)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.lean_client import code_points
from benchmarks.load.common import ALLOW


@dataclass
class Stats:
    applied: int = 0
    refused: dict[str, int] = field(default_factory=dict)  # uri -> stale edits refused
    asked: int = 0
    messages: list[str] = field(default_factory=list)  # window/showMessage
    opened_by_edit: list[str] = field(default_factory=list)


class EditorClient:
    """Raw JSON-RPC over the server's stdio, with buffers kept as lists of lines (the
    framing is ``lean_client.Client``'s; the documents, versions, stale-edit refusal and
    loading of files not open are what an editor does)."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.next_id = 0
        self.waiting: dict[int, asyncio.Future[Any]] = {}
        self.lines: dict[str, list[str]] = {}
        self.versions: dict[str, int] = {}
        self.stats = Stats()
        self.reader = asyncio.ensure_future(self._read())

    # -- wire
    def _write(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%b" % (len(body), body))

    def request(self, method: str, params: Any) -> asyncio.Future[Any]:
        self.next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiting[self.next_id] = future
        self._write({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        return future

    async def command(self, name: str, arguments: Any = None) -> Any:
        answer = await self.request(
            "workspace/executeCommand",
            {"command": name, "arguments": [] if arguments is None else [arguments]},
        )
        if "error" in answer:
            raise RuntimeError(f"{name}: {answer['error']}")
        return answer.get("result")

    def notify(self, method: str, params: Any) -> None:
        self._write({"jsonrpc": "2.0", "method": method, "params": params})

    async def _read(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        while True:
            try:
                header = await stdout.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            length = 0
            for line in header.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            message = json.loads(await stdout.readexactly(length))
            if "method" not in message:
                future = self.waiting.pop(message["id"], None)
                if future is not None and not future.done():
                    future.set_result(message)
            elif "id" in message:
                try:
                    result = self._answer(message)
                    reply = {"jsonrpc": "2.0", "id": message["id"], "result": result}
                except StaleEdit as error:  # eglot answers a stale edit with an error
                    reply = {
                        "jsonrpc": "2.0",
                        "id": message["id"],
                        "error": {"code": -32603, "message": str(error)},
                    }
                self._write(reply)
            elif message["method"] == "window/showMessage":
                self.stats.messages.append(message["params"]["message"][:200])

    def _answer(self, message: dict[str, Any]) -> Any:
        method = message["method"]
        if method == "workspace/applyEdit":
            return self._apply(message["params"]["edit"])
        if method == "window/showMessageRequest":
            self.stats.asked += 1
            titles = [a["title"] for a in message["params"].get("actions") or []]
            return {"title": ALLOW} if ALLOW in titles else None
        if method == "workspace/configuration":
            return [None for _ in message["params"]["items"]]
        return None  # window/workDoneProgress/create, client/registerCapability

    # -- documents
    def open(self, uri: str, text: str) -> None:
        self.lines[uri] = text.split("\n")
        self.versions[uri] = 0
        self.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "python", "version": 0, "text": text}},
        )

    def text(self, uri: str) -> str:
        return "\n".join(self.lines[uri])

    def change(self, uri: str, changes: list[dict[str, Any]]) -> None:
        """Apply ``changes`` (LSP ranges, in order) to the buffer and send didChange."""
        lines = self.lines[uri]
        for change in changes:
            start, end = change["range"]["start"], change["range"]["end"]
            sl, el = start["line"], end["line"]
            head = lines[sl][: code_points(lines[sl], start["character"])]
            tail = lines[el][code_points(lines[el], end["character"]) :]
            lines[sl : el + 1] = (head + change["text"] + tail).split("\n")
        self.versions[uri] += 1
        self.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": self.versions[uri]},
                "contentChanges": changes,
            },
        )

    def _apply(self, edit: dict[str, Any]) -> dict[str, Any]:
        documents = list(edit.get("documentChanges") or [])
        documents += [
            {"textDocument": {"uri": uri, "version": None}, "edits": edits}
            for uri, edits in (edit.get("changes") or {}).items()
        ]
        for doc in documents:  # check everything first: all or nothing
            if "kind" in doc:
                return {"applied": False, "failureReason": f"no {doc['kind']} here"}
            uri, version = doc["textDocument"]["uri"], doc["textDocument"].get("version")
            if uri in self.versions and version is not None and version != self.versions[uri]:
                self.stats.refused[uri] = self.stats.refused.get(uri, 0) + 1
                raise StaleEdit(
                    f"{uri}: edit for version {version}, the buffer is at {self.versions[uri]}"
                )
        for doc in documents:
            uri = doc["textDocument"]["uri"]
            if uri not in self.lines:  # like VS Code: load it, the edit leaves it unsaved
                self.stats.opened_by_edit.append(uri)
                self.open(uri, Path(uri.removeprefix("file://")).read_text(encoding="utf-8"))
            edits = sorted(
                doc["edits"],
                key=lambda e: (e["range"]["start"]["line"], e["range"]["start"]["character"]),
                reverse=True,  # all refer to the original text: apply the last first
            )
            self.change(uri, [{"range": e["range"], "text": e["newText"]} for e in edits])
            self.stats.applied += 1
        return {"applied": True}


class StaleEdit(Exception):
    pass
