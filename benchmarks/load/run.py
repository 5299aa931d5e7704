"""Load and soak: ``python benchmarks/load/run.py [--minutes N | --quick]`` (issue 5).

One real server (``python -m agentls`` over stdio), a raw JSON-RPC client that behaves
like an editor (``EditorClient``: versioned ``workspace/applyEdit`` applied to its own
buffers, stale edits refused like eglot, ``didChange`` sent at once, documents not open
loaded from disk and opened like VS Code, ``window/showMessageRequest`` answered), a
generated workspace of ~30 Python files and the scripted model server in its own
process (``model_proc.py``: real SSE at ``--tps`` tokens a second per stream).

A wave: 20 tasks at once on 20 different documents, a mix of streaming rewrites
(``agentls.run`` with a cursor in a function: the enclosing function is rewritten) and
full-agent tasks (``agentls.run`` without a range: read_file of a side file, then
edit_file of that side file and of the task's own document, each approved through
``window/showMessageRequest``, then finish), while the client types into the typing
documents and above the rewritten function of some of the rewrites' documents (the
region moves), and asks for code actions every ``--period-ms`` on random lines of the
open documents. After the wave: every task ``done``; every document's text equals the
expected text, computed independently (the original, the scripted replies and edits
applied with ``str.replace``, the typed text inserted); then some tasks are undone
(``agentls.undo``: the document must be back to its text before the task) and the
others accepted. Waves repeat for ``--minutes``; every ~10 s the server's RSS, open fds
and threads are sampled from ``/proc``.

Prints a Markdown table and writes ``benchmarks/.cache/load/results-<time>.json``
(and ``latest.json``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import gc
import json
import os
import platform
import random
import shutil
import signal
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lsprotocol.converters import get_converter  # noqa: E402
from pytest_lsp import client_capabilities  # noqa: E402

from benchmarks.lean_client import code_points  # noqa: E402

CACHE = ROOT / "benchmarks" / ".cache" / "load"
FUNCTIONS = 6  # per task document
NOTES = "# notes:"  # line 1 of the typed documents: typing goes at its end
TYPING = [*"typing here — «données» ", "😀", " ", "ok", "\n# ", "more "]
SAMPLE_EVERY = 10.0
WAVE_TIMEOUT = 120.0
ALLOW = "Allow once"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


# -- the workspace ------------------------------------------------------------------------


def function_code(doc: int, k: int, version: int) -> str:
    """Function ``f_k`` of document ``doc`` at ``version`` (0: the original); every
    version differs from the others in three lines."""
    return (
        f'def f_{k}(x: int, y: str = "é") -> tuple[int, str]:\n'
        f'    """f_{k} of d{doc:02d}, version {version}: «ünïcode» ✓."""\n'
        f"    total = x + {version}\n"
        f"    for n in range({doc + 2}):\n"
        f"        total += n * {k + 1}\n"
        f"    if total > {version * 3 + k}:\n"
        f"        total -= 1\n"
        f"    return total, y\n"
    )


def task_document(doc: int, sides: int) -> str:
    parts = [
        f'"""Task document d{doc:02d} of the load benchmark."""\n',
        f"{NOTES}\n",
        f"from pkg import s{doc % sides:02d}\n\n",
        "COUNTER = 0\n\n\n",
    ]
    parts += [function_code(doc, k, 0) + "\n\n" for k in range(FUNCTIONS)]
    parts.append(
        "# agent: add type hints to Keep\n"
        "class Keep:\n"
        f"    def value(self):\n        return s{doc % sides:02d}.base() + COUNTER\n"
    )
    return "".join(parts)


def side_document(j: int) -> str:
    return (
        f'"""Side file s{j:02d}: the full-agent tasks edit it."""\n\n'
        f"VALUE_{j} = 0\n\n\n"
        f"def base() -> int:\n    return VALUE_{j} * 2\n\n\n"
        f"def label(name: str) -> str:\n    return f'{{name}}-{j}'\n"
    )


def typing_document(j: int) -> str:
    lines = [f'"""Typing document t{j:02d}."""', NOTES, ""]
    for k in range(40):
        lines += [f"def helper_{k}(a, b):", f"    return a * {k} + b  # café {k}", "", ""]
    lines += ["# agent: make the helpers a class", "HELPERS = 40", ""]
    return "\n".join(lines)


@dataclass
class Workspace:
    root: Path
    task_docs: list[str]  # uris
    side_docs: list[str]
    typing_docs: list[str]
    texts: dict[str, str]  # uri -> original text


def make_workspace(root: Path, docs: int, sides: int, typing: int) -> Workspace:
    if root.exists():
        shutil.rmtree(root)
    pkg = root / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text('"""The load benchmark\'s package."""\n')
    (root / "AGENTS.md").write_text("Keep the code simple.\n")
    texts: dict[str, str] = {}
    out: dict[str, list[str]] = {"d": [], "s": [], "t": []}
    for prefix, count, make in (
        ("d", docs, lambda i: task_document(i, sides)),
        ("s", sides, side_document),
        ("t", typing, typing_document),
    ):
        for i in range(count):
            path = pkg / f"{prefix}{i:02d}.py"
            text = make(i)
            path.write_text(text, encoding="utf-8")
            texts[path.as_uri()] = text
            out[prefix].append(path.as_uri())
    return Workspace(root, out["d"], out["s"], out["t"], texts)


# -- the editor ---------------------------------------------------------------------------


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


# -- what the server process uses ---------------------------------------------------------


def proc_sample(pid: int) -> dict[str, Any]:
    """RSS (MiB), threads and open fds of ``pid``, and the RSS of its child processes."""
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    rss = int(fields["VmRSS"].split()[0]) / 1024
    children = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                child_status = Path(f"/proc/{child}/status").read_text()
            except OSError:
                continue
            for line in child_status.splitlines():
                if line.startswith("VmRSS:"):
                    children += int(line.split()[1]) / 1024
    return {
        "rss_mib": round(rss, 2),
        "children_rss_mib": round(children, 2),
        "threads": int(fields["Threads"]),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "cpu_s": round(cpu_seconds(pid), 2),
    }


def cpu_seconds(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    parts = stat[stat.rindex(")") + 2 :].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def slope_per_10min(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MiB), in MiB per 10 minutes."""
    if len(points) < 2:
        return float("nan")
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 600 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


# -- the benchmark ------------------------------------------------------------------------


@dataclass
class Task:
    tag: str
    kind: str  # "rewrite" or "agent"
    uri: str
    before: dict[str, str]  # uri -> (the changed part of) the expected text before
    after: dict[str, str]  # uri -> the same part after the task
    arguments: dict[str, Any]
    plan: dict[str, Any]
    typed_into: bool = False
    result: dict[str, Any] | None = None
    seconds: float = 0.0


@dataclass
class Run:
    args: argparse.Namespace
    ws: Workspace
    client: EditorClient
    pid: int
    model: asyncio.subprocess.Process
    truth: dict[str, str] = field(default_factory=dict)  # uri -> text without the typing
    typed: dict[str, str] = field(default_factory=dict)  # uri -> typed at the notes line
    counters: dict[str, int] = field(default_factory=dict)  # "d03" / "s01" -> value
    anomalies: list[dict[str, Any]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # code actions during waves
    ca_errors: int = 0
    ca_wrong: int = 0
    samples: list[dict[str, Any]] = field(default_factory=list)
    waves: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    started: float = 0.0
    in_wave: bool = False
    typing_targets: list[str] = field(default_factory=list)
    keystrokes: int = 0

    # -- expected text, computed independently of the client's buffers
    def expected(self, uri: str) -> str:
        text = self.truth[uri]
        typed = self.typed.get(uri, "")
        return text.replace(NOTES, NOTES + typed, 1) if typed else text

    def plan_wave(self, wave: int) -> list[Task]:
        rng = random.Random(wave)
        docs = self.ws.task_docs[: self.args.tasks]
        agents = set(rng.sample(range(len(docs)), min(self.args.agents, len(docs))))
        sides = list(self.ws.side_docs)
        rng.shuffle(sides)
        tasks = []
        for i, uri in enumerate(docs):
            tag = f"LOADTASK-{wave}-{i}"
            name = Path(uri).stem
            doc = int(name[1:])
            if i in agents and sides:
                side = sides.pop()
                side_name = Path(side).stem
                j = int(side_name[1:])
                c, v = self.counters.get(name, 0), self.counters.get(side_name, 0)
                own_old, own_new = f"COUNTER = {c}", f"COUNTER = {c + 1}"
                side_old, side_new = f"VALUE_{j} = {v}", f"VALUE_{j} = {v + 1}"
                line = self.client.lines[uri].index(own_old)
                turns = [
                    [["read_file", {"path": f"pkg/{side_name}.py"}]],
                    [
                        [
                            "edit_file",
                            {
                                "path": f"pkg/{side_name}.py",
                                "old_string": side_old,
                                "new_string": side_new,
                            },
                        ],
                        [
                            "edit_file",
                            {
                                "path": f"pkg/{name}.py",
                                "old_string": own_old,
                                "new_string": own_new,
                            },
                        ],
                    ],
                    [["finish", {"summary": f"{tag}: bumped {side_name} and {name}"}]],
                ]
                say = [
                    f"I will read pkg/{side_name}.py first.",
                    "Now I bump both values.",
                    "Both are bumped.",
                ]
                instruction = f"{tag}: bump VALUE_{j} in pkg/{side_name}.py and COUNTER here"
                tasks.append(
                    Task(
                        tag,
                        "agent",
                        uri,
                        {uri: own_old, side: side_old},
                        {uri: own_new, side: side_new},
                        {
                            "instruction": instruction,
                            "uri": uri,
                            "position": {"line": line, "character": 0},
                        },
                        {"kind": "agent", "turns": turns, "say": say},
                    )
                )
                self.counters[name], self.counters[side_name] = c + 1, v + 1
            else:
                k = (wave + i) % FUNCTIONS
                key = f"{name}.f_{k}"
                version = self.counters.get(key, 0)
                old, new = function_code(doc, k, version), function_code(doc, k, wave + 1)
                line = self.client.lines[uri].index(old.split("\n")[0]) + 3
                reply = (
                    f"Here is f_{k}, tidied as asked:\n```python\n{new}```\n"
                    "This keeps its behaviour and only touches the limits and the docstring, "
                    "as the instruction says.\n"
                )
                at = {"line": line, "character": 4}
                tasks.append(
                    Task(
                        tag,
                        "rewrite",
                        uri,
                        {uri: old},
                        {uri: new},
                        {
                            "instruction": f"{tag}: tidy f_{k}",
                            "uri": uri,
                            "range": {"start": at, "end": at},
                        },
                        {"kind": "rewrite", "reply": reply},
                        typed_into=i % 5 == 1,
                    )
                )
                self.counters[key] = wave + 1
        return tasks

    async def send_plan(self, wave: int, tasks: list[Task]) -> None:
        assert self.model.stdin is not None and self.model.stdout is not None
        plan = {"wave": wave, "tasks": {t.tag: t.plan for t in tasks}}
        self.model.stdin.write((json.dumps(plan) + "\n").encode())
        while True:
            line = (await self.model.stdout.readline()).decode()
            if not line:
                raise RuntimeError("the model process ended")
            if line.startswith("anomaly "):
                self.anomalies.append(json.loads(line[8:]))
            elif line.strip() == f"ok {wave}":
                return

    # -- the load beside the tasks
    async def typing(self, stop: asyncio.Event) -> None:
        k = 0
        while not stop.is_set():
            await asyncio.sleep(self.args.type_ms / 1000)
            targets = self.typing_targets
            if not targets or stop.is_set():
                continue
            uri = targets[k % len(targets)]
            piece = TYPING[(k // len(targets)) % len(TYPING)]
            k += 1
            lines = self.client.lines[uri]
            typed = self.typed.get(uri, "")
            line = lines.index(NOTES + typed.split("\n")[0]) + typed.count("\n")
            at = {"line": line, "character": utf16_len(lines[line])}
            self.client.change(uri, [{"range": {"start": at, "end": at}, "text": piece}])
            self.typed[uri] = typed + piece
            self.keystrokes += 1

    async def code_actions(self, stop: asyncio.Event) -> None:
        rng = random.Random(7)
        uris = [*self.ws.task_docs[: self.args.tasks], *self.ws.typing_docs]
        period = self.args.period_ms / 1000
        due = time.perf_counter()
        while not stop.is_set():
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            uri = rng.choice(uris)
            lines = self.client.lines[uri]
            r = rng.random()
            if r < 0.25:  # on an instruction comment
                line = next(i for i, s in enumerate(lines) if s.startswith("# agent:"))
                start = end = {"line": line, "character": 4}
                expect = "Agent: "
            elif r < 0.45:  # a selection
                line = rng.randrange(max(1, len(lines) - 12))
                start, end = {"line": line, "character": 0}, {"line": line + 10, "character": 0}
                expect = "Agent: edit selection"
            else:
                line = rng.randrange(len(lines))
                character = rng.randrange(utf16_len(lines[line]) + 1)
                start = end = {"line": line, "character": character}
                expect = ""
            params = {
                "textDocument": {"uri": uri},
                "range": {"start": start, "end": end},
                "context": {"diagnostics": [], "triggerKind": 2},
            }
            sent = time.perf_counter()
            measured = self.in_wave
            try:
                answer = await asyncio.wait_for(
                    self.client.request("textDocument/codeAction", params), 30
                )
            except TimeoutError:
                self.ca_errors += 1
                continue
            latency = time.perf_counter() - sent
            if "error" in answer:
                self.ca_errors += 1
            elif expect and not any(
                a.get("title", "").startswith(expect) for a in answer.get("result") or []
            ):
                self.ca_wrong += 1
            elif measured and self.in_wave:
                self.latencies.append(latency)
            due = max(due + period, time.perf_counter())

    async def sampler(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            sample = proc_sample(self.pid)
            sample["t"] = round(time.perf_counter() - self.started, 2)
            sample["wave"] = len(self.waves)
            self.samples.append(sample)
            try:
                await asyncio.wait_for(stop.wait(), SAMPLE_EVERY)
            except TimeoutError:
                pass

    # -- one wave
    async def wave(self, wave: int) -> dict[str, Any]:
        tasks = self.plan_wave(wave)
        await self.send_plan(wave, tasks)
        gc.collect()
        gc.disable()
        self.typing_targets = [*self.ws.typing_docs, *(t.uri for t in tasks if t.typed_into)]
        self.in_wave = True
        start = time.perf_counter()

        async def one(task: Task) -> None:
            sent = time.perf_counter()
            try:
                task.result = await asyncio.wait_for(
                    self.client.command("agentls.run", task.arguments), WAVE_TIMEOUT
                )
            except TimeoutError:
                task.result = {"status": "timeout"}
            except RuntimeError as error:
                task.result = {"status": "error", "summary": str(error)}
            task.seconds = time.perf_counter() - sent

        await asyncio.gather(*(one(t) for t in tasks))
        if any((t.result or {}).get("status") == "timeout" for t in tasks):
            log(f"wave {wave}: tasks still running after {WAVE_TIMEOUT} s: cancelling all")
            await self.client.command("agentls.cancel", {})
        self.in_wave = False
        self.typing_targets = []
        seconds = time.perf_counter() - start
        gc.enable()
        await asyncio.sleep(0.3)  # the last didChange of the typing reaches the server
        for task in tasks:  # the expected text: each task's change, independently
            for uri, old in task.before.items():
                if self.truth[uri].count(old) != 1:
                    raise AssertionError(f"{task.tag}: {old[:40]!r} not once in {uri}")
                self.truth[uri] = self.truth[uri].replace(old, task.after[uri])
        failed = [t for t in tasks if (t.result or {}).get("status") != "done"]
        for task in failed:
            self.failures.append(f"wave {wave} {task.tag} {task.kind}: {task.result}")
        mismatched = self.check(f"wave {wave}")
        # Undo some tasks (2 rewrites, 2 full-agent ones), accept the others.
        undo = [t for t in tasks if t.kind == "rewrite" and t not in failed][:2]
        undo += [t for t in tasks if t.kind == "agent" and t not in failed][:2]
        undo_failed = 0
        for task in undo:
            answer = await self.client.command(
                "agentls.undo", {"taskId": (task.result or {})["taskId"]}
            )
            if (answer or {}).get("status") != "undone":
                undo_failed += 1
                self.failures.append(f"wave {wave} undo {task.tag}: {answer}")
                continue
            for uri, old in task.before.items():
                self.truth[uri] = self.truth[uri].replace(task.after[uri], old)
            if task.kind == "agent":
                for uri in task.before:
                    name = Path(uri).stem
                    self.counters[name] -= 1
            else:
                self.counters[self._function_key(task)] = self._old_version(task)
        for task in tasks:
            if task not in undo and task not in failed:
                task_id = (task.result or {})["taskId"]
                await self.client.command("agentls.accept", {"taskId": task_id})
        mismatched += self.check(f"wave {wave} after undo")
        record = {
            "wave": wave,
            "seconds": round(seconds, 2),
            "tasks": len(tasks),
            "agents": sum(t.kind == "agent" for t in tasks),
            "failed": len(failed),
            "mismatched": mismatched,
            "undone": len(undo) - undo_failed,
            "undo_failed": undo_failed,
            "task_seconds_max": round(max(t.seconds for t in tasks), 2),
        }
        self.waves.append(record)
        return record

    @staticmethod
    def _function_key(task: Task) -> str:
        k = task.plan["reply"].split("Here is f_", 1)[1].split(",", 1)[0]
        return f"{Path(task.uri).stem}.f_{k}"

    @staticmethod
    def _old_version(task: Task) -> int:
        old = task.before[task.uri]
        return int(old.split("version ", 1)[1].split(":", 1)[0])

    def check(self, when: str) -> int:
        """Every document the client has equals the expected text; returns mismatches."""
        bad = 0
        for uri in self.client.lines:
            got, want = self.client.text(uri), self.expected(uri)
            if got != want:
                bad += 1
                self.failures.append(f"{when}: {Path(uri).name} differs: {first_diff(got, want)}")
        return bad


def first_diff(got: str, want: str) -> str:
    a, b = got.split("\n"), want.split("\n")
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"line {i + 1}: got {x!r}, expected {y!r}"
    return f"{len(a)} lines, expected {len(b)}"


async def snapshot(pid: int) -> None:
    """A tracemalloc snapshot of the server (``traced_server.py``), after a collection
    has had time to run."""
    await asyncio.sleep(2.0)
    os.kill(pid, signal.SIGUSR1)
    await asyncio.sleep(5.0)


async def start_model(tps: float) -> tuple[asyncio.subprocess.Process, str]:
    model = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__).with_name("model_proc.py")),
        str(tps),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert model.stdout is not None
    line = (await model.stdout.readline()).decode().split()
    if not line or line[0] != "ready":
        raise RuntimeError(f"model process: {line}")
    return model, line[1]


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    CACHE.mkdir(parents=True, exist_ok=True)
    ws = make_workspace(CACHE / "ws", args.docs, args.sides, args.typing_docs)
    model, base_url = await start_model(args.tps)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTLS_"))}
    env["AGENTLS_CACHE_DIR"] = str(CACHE / "index")
    shutil.rmtree(CACHE / "index", ignore_errors=True)
    stderr = (CACHE / "server-stderr.log").open("wb")
    command = args.server_cmd.split()
    patches = ["pygls", "slices"] if args.patched else []
    if args.patched:
        command = [sys.executable, str(Path(__file__).with_name("patched_server.py")), *patches]
    if args.trace is not None:
        traced = str(Path(__file__).with_name("traced_server.py"))
        command = [sys.executable, traced, args.trace, *patches]
    proc = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr,
        env=env,
        limit=2**24,
    )
    client = EditorClient(proc)
    caps = get_converter().unstructure(client_capabilities("visual-studio-code"))
    options = {
        "model": {"baseUrl": base_url, "name": "scripted-model", "maxRetries": 2, "timeout": 30},
        "agent": {"approval": "ask"},
    }
    await client.request(
        "initialize",
        {
            "processId": os.getpid(),
            "rootUri": ws.root.as_uri(),
            "workspaceFolders": [{"uri": ws.root.as_uri(), "name": "load"}],
            "capabilities": caps,
            "initializationOptions": options,
        },
    )
    client.notify("initialized", {})
    for uri in [*ws.task_docs[: args.tasks], *ws.typing_docs]:
        client.open(uri, ws.texts[uri])
    await client.command("agentls.status")
    run = Run(args, ws, client, proc.pid, model, truth=dict(ws.texts))
    calm = time.perf_counter()
    last = cpu_seconds(proc.pid)
    while time.perf_counter() - calm < 20:  # until the index is built and the server idle
        await asyncio.sleep(0.5)
        now = cpu_seconds(proc.pid)
        if now - last < 0.02:
            break
        last = now
    gc.collect()
    gc.freeze()
    run.started = time.perf_counter()
    stop = asyncio.Event()
    background = [
        asyncio.ensure_future(run.sampler(stop)),
        asyncio.ensure_future(run.typing(stop)),
        asyncio.ensure_future(run.code_actions(stop)),
    ]
    deadline = run.started + args.minutes * 60
    wave = 0
    log(f"server pid {proc.pid}, {len(ws.texts)} files, {args.minutes} min")
    while time.perf_counter() < deadline and (args.waves is None or wave < args.waves):
        record = await run.wave(wave)
        sample = proc_sample(proc.pid)
        log(
            f"wave {wave}: {record['seconds']} s, failed {record['failed']}, "
            f"mismatched {record['mismatched']}, undone {record['undone']}, "
            f"RSS {sample['rss_mib']:.1f} MiB, fds {sample['fds']}, threads {sample['threads']}"
        )
        wave += 1
        if args.trace is not None and wave == 2:  # start tracing
            os.kill(proc.pid, signal.SIGUSR1)
        if any(w["failed"] or w["mismatched"] for w in run.waves[-1:]):
            log("stopping: a wave failed (see the failures below)")
            break
        await asyncio.sleep(args.pause)
    stop.set()
    await asyncio.gather(*background)
    final = proc_sample(proc.pid)
    final["t"] = round(time.perf_counter() - run.started, 2)
    final["wave"] = len(run.waves)
    run.samples.append(final)
    status = await client.command("agentls.status")
    if args.trace is not None:
        await snapshot(proc.pid)
    await asyncio.sleep(0.5)
    assert model.stdin is not None and model.stdout is not None
    model.stdin.close()
    rest = (await model.stdout.read()).decode().splitlines()
    run.anomalies += [json.loads(s[8:]) for s in rest if s.startswith("anomaly ")]
    await model.wait()
    await client.request("shutdown", None)
    client.notify("exit", None)
    try:
        await asyncio.wait_for(proc.wait(), 10)
    except TimeoutError:
        proc.kill()
    stderr.close()
    return report(run, status)


def cpu_rate(samples: list[dict[str, Any]]) -> float:
    """The server's CPU over ``samples``, in % of one core."""
    if len(samples) < 2 or samples[-1]["t"] <= samples[0]["t"]:
        return float("nan")
    used = samples[-1]["cpu_s"] - samples[0]["cpu_s"]
    return round(100 * used / (samples[-1]["t"] - samples[0]["t"]), 1)


def report(run: Run, status: Any) -> dict[str, Any]:
    samples = run.samples
    first_end = next((s for s in samples if s["wave"] >= 1), samples[-1])
    after = [(s["t"], s["rss_mib"]) for s in samples if s["wave"] >= 1]
    refused = run.client.stats.refused
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "load_average": os.getloadavg(),
        "options": {k: v for k, v in vars(run.args).items()},
        "waves": len(run.waves),
        "tasks": sum(w["tasks"] for w in run.waves),
        "agent_tasks": sum(w["agents"] for w in run.waves),
        "failed_tasks": sum(w["failed"] for w in run.waves),
        "mismatched_documents": sum(w["mismatched"] for w in run.waves),
        "undone": sum(w["undone"] for w in run.waves),
        "undo_failed": sum(w["undo_failed"] for w in run.waves),
        "applied_edits": run.client.stats.applied,
        "refused_edits": sum(refused.values()),
        "refused_by_document": {Path(u).name: n for u, n in refused.items()},
        "approvals_asked": run.client.stats.asked,
        "keystrokes": run.keystrokes,
        "opened_by_edit": len(run.client.stats.opened_by_edit),
        "anomalies": run.anomalies,
        "code_actions": len(run.latencies),
        "code_action_p50_ms": round(percentile(run.latencies, 50) * 1000, 2),
        "code_action_p99_ms": round(percentile(run.latencies, 99) * 1000, 2),
        "code_action_max_ms": round(max(run.latencies, default=0) * 1000, 2),
        "code_action_errors": run.ca_errors,
        "code_action_wrong": run.ca_wrong,
        "wave_seconds_p50": percentile([w["seconds"] for w in run.waves], 50),
        "wave_seconds_max": max((w["seconds"] for w in run.waves), default=0),
        "rss_start_mib": samples[0]["rss_mib"],
        "rss_after_first_wave_mib": first_end["rss_mib"],
        "rss_end_mib": samples[-1]["rss_mib"],
        "rss_slope_mib_per_10min": round(slope_per_10min(after), 2),
        "children_rss_end_mib": samples[-1]["children_rss_mib"],
        "cpu_percent_first_minute": cpu_rate(samples[:7]),
        "cpu_percent_last_minute": cpu_rate(samples[-7:]),
        "fds_start": samples[0]["fds"],
        "fds_end": samples[-1]["fds"],
        "threads_start": samples[0]["threads"],
        "threads_end": samples[-1]["threads"],
        "server_status_end": {
            "running": len((status or {}).get("running") or []),
            "recent": len((status or {}).get("recent") or []),
        },
        "failures": run.failures[:50],
        "messages": run.client.stats.messages[:20],
        "samples": samples,
        "wave_records": run.waves,
    }


def table(r: dict[str, Any]) -> str:
    rows = [
        ("waves / tasks (full-agent)", f"{r['waves']} / {r['tasks']} ({r['agent_tasks']})"),
        ("tasks not done", f"{r['failed_tasks']}"),
        ("documents not as expected (lost or misplaced edits)", f"{r['mismatched_documents']}"),
        ("undo: done / refused", f"{r['undone']} / {r['undo_failed']}"),
        (
            "edits applied / refused as stale",
            f"{r['applied_edits']} / {r['refused_edits']}",
        ),
        ("model requests not routed (anomalies)", f"{len(r['anomalies'])}"),
        (
            "keystrokes typed during waves / approvals answered",
            f"{r['keystrokes']} / {r['approvals_asked']}",
        ),
        (
            "code action during waves: p50 / p99 / max",
            f"{r['code_action_p50_ms']} / {r['code_action_p99_ms']} / "
            f"{r['code_action_max_ms']} ms ({r['code_actions']} requests)",
        ),
        (
            "code action errors / wrong answers",
            f"{r['code_action_errors']} / {r['code_action_wrong']}",
        ),
        (
            "wave duration: p50 / max",
            f"{r['wave_seconds_p50']:.1f} / {r['wave_seconds_max']:.1f} s",
        ),
        (
            "server RSS: start / after wave 1 / end",
            f"{r['rss_start_mib']:.1f} / {r['rss_after_first_wave_mib']:.1f} / "
            f"{r['rss_end_mib']:.1f} MiB",
        ),
        ("server RSS slope after wave 1", f"{r['rss_slope_mib_per_10min']:+.2f} MiB / 10 min"),
        (
            "server CPU: first / last minute",
            f"{r['cpu_percent_first_minute']} / {r['cpu_percent_last_minute']} % of a core",
        ),
        ("open fds: start / end", f"{r['fds_start']} / {r['fds_end']}"),
        ("threads: start / end", f"{r['threads_start']} / {r['threads_end']}"),
    ]
    out = ["| metric | value |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(out)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="soak length")
    parser.add_argument("--quick", action="store_true", help="about one minute")
    parser.add_argument("--waves", type=int, default=None, help="stop after N waves")
    parser.add_argument("--tasks", type=int, default=20, help="tasks per wave (<= --docs)")
    parser.add_argument("--docs", type=int, default=20, help="task documents")
    parser.add_argument("--agents", type=int, default=6, help="full-agent tasks per wave")
    parser.add_argument("--sides", type=int, default=6, help="side files (>= --agents)")
    parser.add_argument("--typing-docs", type=int, default=2)
    parser.add_argument("--tps", type=float, default=100.0, help="tokens/s per stream")
    parser.add_argument("--type-ms", type=float, default=40.0, help="between keystrokes")
    parser.add_argument("--period-ms", type=float, default=10.0, help="between code actions")
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between waves")
    parser.add_argument("--server-cmd", default=f"{sys.executable} -m agentls")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--patched",
        action="store_true",
        help="the server with the two leaks found here patched at run time "
        "(patched_server.py: pygls's notification futures, tree-sitter's read callback)",
    )
    parser.add_argument(
        "--trace",
        default=None,
        metavar="DIR",
        help="run the server with tracemalloc (traced_server.py) from wave 2 on, a snapshot "
        "in DIR at the end: see compare_snapshots.py",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.minutes = 1.0
    args.tasks = min(args.tasks, args.docs)
    args.agents = min(args.agents, args.sides, args.tasks)
    return args


def main() -> None:
    args = parse_args()
    result = asyncio.run(main_async(args))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = args.json or CACHE / f"results-{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    for failure in result["failures"][:10]:
        log(f"failure: {failure}")
    for anomaly in result["anomalies"][:5]:
        log(f"anomaly: {anomaly}")
    print(table(result), flush=True)
    text = json.dumps(result, indent=1, default=str)
    path.write_text(text)
    (CACHE / "latest.json").write_text(text)
    log(f"results: {path}")


if __name__ == "__main__":
    main()
