"""``python benchmarks/lean_client.py < CONFIG.json``: code action latency, lean client.

The main benchmark's client is pytest-lsp (a pygls client: cattrs (de)serialisation
of every message, futures, the fake editor's pygls documents) and it shares its
process with the scripted SSE model server, on a 2-core machine. This client is the
opposite: its own process, raw JSON-RPC over the server's stdio pipes with asyncio
(``json`` + ``Content-Length`` framing, nothing else), a minimal editor that applies
``workspace/applyEdit`` to a list of lines and sends ``didChange`` at once (before
answering, as the fake editor does). It runs the same session as ``run.py``'s
benchmark 1 (idle, then two rewrites streaming into the file while it keeps asking
for code actions) and prints every sample as JSON on stdout; ``run.py`` splits them
into the same phases. Latency = request written -> its response parsed (read time).

The server is started here (so its pipes are ours); the model server stays in
``run.py``'s process, which queued the replies before starting this.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import os
import sys
import time
from typing import Any


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def code_points(line: str, utf16: int) -> int:
    """Code-point column of a UTF-16 column (clamped to the line)."""
    if line.isascii():
        return min(utf16, len(line))
    units = 0
    for i, ch in enumerate(line):
        if units >= utf16:
            return i
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(line)


class Client:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.next_id = 0
        self.waiting: dict[int, tuple[asyncio.Future[Any], Any]] = {}
        self.lines: list[str] = []
        self.uri = ""
        self.version = 0
        self.applied: list[float] = []  # read time of every applied edit
        self.reader = asyncio.ensure_future(self._read())

    def _write(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%b" % (len(body), body))

    def request(self, method: str, params: Any, on_answer: Any = None) -> asyncio.Future[Any]:
        """Send a request; ``on_answer(result, error, read_time)`` runs as it is read."""
        self.next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiting[self.next_id] = (future, on_answer)
        self._write({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        return future

    def notify(self, method: str, params: Any) -> None:
        self._write({"jsonrpc": "2.0", "method": method, "params": params})

    async def _read(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        while True:
            try:
                header = await stdout.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return
            length = 0
            for line in header.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            message = json.loads(await stdout.readexactly(length))
            now = time.perf_counter()
            if "method" not in message:  # a response
                future, on_answer = self.waiting.pop(message["id"], (None, None))
                if on_answer is not None:
                    on_answer(message.get("result"), message.get("error"), now)
                if future is not None and not future.done():
                    future.set_result(message)
            elif "id" in message:  # a request from the server
                self._write(
                    {"jsonrpc": "2.0", "id": message["id"], "result": self._answer(message)}
                )

    def _answer(self, message: dict[str, Any]) -> Any:
        method = message["method"]
        if method == "workspace/applyEdit":
            return self._apply(message["params"]["edit"])
        if method == "workspace/configuration":
            return [None for _ in message["params"]["items"]]
        return None  # workDoneProgress/create, registerCapability, ...

    def _apply(self, edit: dict[str, Any]) -> dict[str, Any]:
        changes = []
        for doc in edit.get("documentChanges") or []:
            if doc["textDocument"]["uri"] != self.uri:
                continue
            if doc["textDocument"].get("version") not in (None, self.version):
                return {"applied": False, "failureReason": "stale version"}
            edits = sorted(
                doc["edits"],
                key=lambda e: (e["range"]["start"]["line"], e["range"]["start"]["character"]),
                reverse=True,  # all refer to the original text: apply the last first
            )
            for e in edits:
                start, end = e["range"]["start"], e["range"]["end"]
                lines = self.lines
                sl, el = start["line"], end["line"]
                head = lines[sl][: code_points(lines[sl], start["character"])]
                tail = lines[el][code_points(lines[el], end["character"]) :]
                lines[sl : el + 1] = (head + e["newText"] + tail).split("\n")
                changes.append({"range": e["range"], "text": e["newText"]})
        if changes:
            self.applied.append(time.perf_counter())
            self.version += 1
            self.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": self.uri, "version": self.version},
                    "contentChanges": changes,
                },
            )
        return {"applied": True}


async def quiesce(pid: int, timeout: float = 10.0) -> None:
    started, calm, last = time.perf_counter(), 0, cpu_seconds(pid)
    while calm < 2 and time.perf_counter() - started < timeout:
        await asyncio.sleep(0.1)
        now = cpu_seconds(pid)
        calm = calm + 1 if now - last <= 0.011 else 0
        last = now


async def main(config: dict[str, Any]) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(
        *config["server"],
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=config["env"],
    )
    client = Client(proc)
    await client.request(
        "initialize",
        {
            "processId": os.getpid(),
            "rootUri": config["root_uri"],
            "capabilities": config["capabilities"],
            "initializationOptions": config["init_options"],
        },
    )
    client.notify("initialized", {})
    client.uri, client.lines = config["uri"], config["text"].split("\n")
    client.notify(
        "textDocument/didOpen",
        {
            "textDocument": {
                "uri": client.uri,
                "languageId": "python",
                "version": 0,
                "text": config["text"],
            }
        },
    )
    status = {"command": "agentls.status", "arguments": []}
    await client.request("workspace/executeCommand", status)
    await quiesce(proc.pid)

    samples: list[list[Any]] = []  # [kind, sent, latency or None, error or None]
    wrong = 0
    requests = config["requests"]
    period = config["period"]
    stop = asyncio.Event()

    async def ping(kind: str, every: float, offset: float) -> None:
        nonlocal wrong
        await asyncio.sleep(offset)
        k, due = 0, time.perf_counter()
        while not stop.is_set():
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if kind == "codeAction":
                method, (params, expect) = "textDocument/codeAction", requests[k % len(requests)]
            else:
                method, params, expect = "workspace/executeCommand", status, ""
            sample: list[Any] = [kind, time.perf_counter(), None, None]
            samples.append(sample)

            def answered(
                result: Any,
                error: Any,
                now: float,
                sample: list[Any] = sample,
                expect: str = expect,
            ) -> None:
                nonlocal wrong
                if error is not None:
                    sample[3] = str(error)
                    return
                sample[2] = now - sample[1]
                if expect and not any(a["title"].startswith(expect) for a in result or []):
                    wrong += 1

            future = client.request(method, params, answered)
            k += 1
            due = max(due + every, time.perf_counter())
            try:
                await asyncio.wait_for(future, 30)
            except TimeoutError:
                sample[3] = "timeout"

    pingers = [
        asyncio.ensure_future(ping("codeAction", period, 0.0)),
        asyncio.ensure_future(ping("trivial", 4 * period, period / 2)),
    ]
    await asyncio.sleep(0.3)  # warm-up
    idle = [time.perf_counter(), 0.0]
    await asyncio.sleep(config["idle_seconds"])
    idle[1] = time.perf_counter()
    rewrites = []
    for arguments in config["tasks"]:
        seen = len(client.applied)
        sent = time.perf_counter()
        answer = await client.request(
            "workspace/executeCommand", {"command": "agentls.run", "arguments": [arguments]}
        )
        done = time.perf_counter()
        first = client.applied[seen] if len(client.applied) > seen else done
        result = answer.get("result") or {}
        rewrites.append([result.get("status"), len(client.applied) - seen, sent, first, done])
        await asyncio.sleep(0.2)
    stop.set()
    await asyncio.gather(*pingers)
    await client.request("shutdown", None)
    client.notify("exit", None)
    try:
        await asyncio.wait_for(proc.wait(), 10)
    except TimeoutError:
        proc.kill()
    text = "\n".join(client.lines)
    return {
        "samples": samples,
        "wrong_answers": wrong,
        "rewrites": rewrites,
        "idle": idle,
        "text_sha256": hashlib.sha256(text.encode()).hexdigest(),
    }


if __name__ == "__main__":
    cfg = json.loads(sys.stdin.buffer.read())
    gc.collect()
    gc.freeze()
    gc.disable()  # as in run.py: no collection pauses of ours charged to the server
    print(json.dumps(asyncio.run(main(cfg))))
