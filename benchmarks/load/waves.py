"""The waves of the load benchmark (``Run``): 20 tasks at once while the client types
and asks for code actions, then every text checked, some tasks undone, the rest
accepted; the server sampled meanwhile."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.load.common import (
    FUNCTIONS,
    NOTES,
    SAMPLE_EVERY,
    TYPING,
    WAVE_TIMEOUT,
    log,
    utf16_len,
)
from benchmarks.load.editor_client import EditorClient
from benchmarks.load.server_process import proc_sample
from benchmarks.load.workspace import Workspace, function_code


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
