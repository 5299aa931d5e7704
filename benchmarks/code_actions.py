"""1. ``codeaction``: code action latency on a 10k-line file, idle and while a rewrite
streams into the same file, next to a trivial round trip (``agentls.status``)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
import os
import random
import sys
import time
from dataclasses import dataclass
from typing import Any

from lsprotocol import types
from lsprotocol.converters import get_converter
from pytest_lsp import client_capabilities

from benchmarks.common import (
    HERE,
    PHASES,
    TOKENS_PER_SECOND,
    URI,
    Config,
    collect_now,
    log,
    open_document,
    run_arguments,
)
from benchmarks.harness import bench_session, percentile, summary_ms
from benchmarks.workload import Target, Workload, model_reply, rewrite_of
from tests.support.lsp_session import command, model_options
from tests.support.model_server import ScriptedModelServer, text_reply


@dataclass
class Sample:
    kind: str  # "codeAction" or "trivial"
    sent: float
    latency: float | None = None  # None: no answer (counted as an error)
    error: str | None = None


def code_action_requests(workload: Workload, count: int, seed: int) -> list[Any]:
    """A varied mix of codeAction requests over the whole file."""
    rng = random.Random(seed)
    lines = workload.text.split("\n")
    target = workload.targets["ca_stream"]
    out: list[Any] = []
    for _ in range(count):
        r = rng.random()
        diagnostics: list[types.Diagnostic] = []
        if r < 0.15:  # cursor on an instruction comment
            line = rng.choice(workload.instruction_lines)
            start = end = types.Position(line=line, character=len(lines[line]) // 2)
            expect = "Agent: "
        elif r < 0.30:  # a diagnostic in the context (the editor's lightbulb)
            line = rng.randrange(len(lines) - 1)
            start = types.Position(line=line, character=0)
            end = types.Position(line=line, character=min(8, len(lines[line])))
            diagnostics = [
                types.Diagnostic(
                    range=types.Range(start=start, end=end),
                    message=f"Undefined name `x{line}` — «données»",
                    source="pyflakes",
                    severity=types.DiagnosticSeverity.Error,
                )
            ]
            expect = "Fix with agent: "
        elif r < 0.45:  # a selection of 2..40 lines
            line = rng.randrange(len(lines) - 41)
            start = types.Position(line=line, character=0)
            end = types.Position(line=line + rng.randint(1, 39), character=0)
            expect = "Agent: edit selection"
        elif r < 0.55:  # the cursor inside the function being rewritten
            line = rng.randint(target.first_line, target.last_line)
            start = end = types.Position(line=line, character=4)
            expect = ""
        else:  # the cursor anywhere
            line = rng.randrange(len(lines) - 1)
            start = end = types.Position(line=line, character=rng.randrange(len(lines[line]) + 1))
            expect = ""
        params = types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=URI),
            range=types.Range(start=start, end=end),
            context=types.CodeActionContext(
                diagnostics=diagnostics,
                trigger_kind=types.CodeActionTriggerKind.Automatic,
            ),
        )
        out.append((params, expect))
    return out


class Pinger:
    """Sends a codeAction every ``period`` and a trivial request every 4 periods.

    Each kind has at most one request in flight, like an editor that asks again
    on the next cursor move once it has its answer: a request that falls due while
    the previous one is unanswered is sent the moment the answer comes. So a stall
    of the server shows up as one long sample (see ``max``) rather than a queue
    of hundreds that would then drain slowly. Latency = send -> the response
    callback on the client.
    """

    def __init__(self, client: Any, requests: list[Any], period: float) -> None:
        self.client = client
        self.requests = requests
        self.period = period
        self.samples: list[Sample] = []
        self.wrong = 0  # code actions whose answer lacks the expected action
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._stop.clear()
        self._tasks = [
            asyncio.ensure_future(self._loop("codeAction", self.period, 0.0)),
            asyncio.ensure_future(self._loop("trivial", 4 * self.period, self.period / 2)),
        ]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)

    def _send(self, kind: str, k: int) -> concurrent.futures.Future[Any]:
        protocol = self.client.protocol
        if kind == "codeAction":
            params, expect = self.requests[k % len(self.requests)]
            sample = Sample(kind, time.perf_counter())
            future = protocol.send_request(types.TEXT_DOCUMENT_CODE_ACTION, params)
        else:
            expect = None
            sample = Sample(kind, time.perf_counter())
            future = protocol.send_request(
                types.WORKSPACE_EXECUTE_COMMAND,
                types.ExecuteCommandParams(command="agentls.status", arguments=[]),
            )
        self.samples.append(sample)

        def done(f: concurrent.futures.Future[Any]) -> None:  # runs as the answer is read
            now = time.perf_counter()
            if f.cancelled():
                sample.error = "cancelled"
            elif f.exception() is not None:
                sample.error = repr(f.exception())
            else:
                sample.latency = now - sample.sent
                if expect:
                    titles = [a.title for a in f.result() or []]
                    if not any(t.startswith(expect) for t in titles):
                        self.wrong += 1

        future.add_done_callback(done)
        return future

    async def _loop(self, kind: str, period: float, offset: float) -> None:
        await asyncio.sleep(offset)
        k = 0
        due = time.perf_counter()
        while not self._stop.is_set():
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            future = self._send(kind, k)
            k += 1
            due = max(due + period, time.perf_counter())
            try:
                await asyncio.wait_for(asyncio.wrap_future(future), 30)
            except Exception:
                pass  # recorded by the callback


def latencies(samples: list[Sample], kind: str, lo: float, hi: float) -> list[float]:
    return [
        s.latency for s in samples if s.kind == kind and s.latency is not None and lo <= s.sent < hi
    ]


def enqueue_rewrite(model: ScriptedModelServer, target: Target) -> str:
    """Script the model's reply rewriting ``target``, streamed token by token at
    TOKENS_PER_SECOND; the new code."""
    code = rewrite_of(target)
    model.enqueue(text_reply(model_reply(code), tokens_per_second=TOKENS_PER_SECOND, chunk="token"))
    return code


async def bench_code_actions_once(
    cfg: Config, model: ScriptedModelServer, workload: Workload, run: int
) -> dict[str, Any]:
    """One session: idle, then a first (cold) and a second (warm) rewrite, pinging all along."""
    collect_now()
    model.clear()
    requests = code_action_requests(workload, 2000, seed=run)
    expected = workload.text
    async with bench_session(
        model_options(model.base_url), server=cfg.server("codeaction"), fast_editor=cfg.fast_editor
    ) as (client, editor, pid):
        await open_document(client, editor, workload, pid)
        pinger = Pinger(client, requests, cfg.period)
        pinger.start()
        await asyncio.sleep(0.3)  # warm-up: the first requests build caches
        idle = (time.perf_counter(), 0.0)
        await asyncio.sleep(cfg.idle_seconds)
        idle = (idle[0], time.perf_counter())
        rewrites = []
        for name in ("ca_stream", "ca_stream2"):
            target = workload.targets[name]
            expected = expected.replace(target.code, enqueue_rewrite(model, target))
            seen = len(editor.log)
            sent = time.perf_counter()
            result = await command(client, "agentls.run", run_arguments(target, "tidy the loop"))
            done = time.perf_counter()
            applied = [e for e in editor.log[seen:] if e.outcome == "applied"]
            first = applied[0].time if applied else done
            rewrites.append((result.get("status"), len(applied), sent, first, done))
            await asyncio.sleep(0.2)
        await pinger.stop()
        text_ok = editor.text(URI) == expected
    out = split_phases(cfg, run, pinger.samples, idle, rewrites, editor.log)
    out.update(wrong_answers=pinger.wrong, text_ok=text_ok)
    return out


def split_phases(
    cfg: Config,
    run: int,
    samples: list[Sample],
    idle: tuple[float, float],
    rewrites: list[tuple[Any, int, float, float, float]],
    edit_log: list[Any],
) -> dict[str, Any]:
    """The samples of one session by phase (see benchmarks/README.md, benchmark 1)."""
    errors = [s.error for s in samples if s.error]
    (_, _, sent1, first1, done1), (_, _, sent2, first2, done2) = rewrites
    phases: dict[str, list[tuple[float, float]]] = {
        "idle": [idle],
        "streaming": [(first1, done1), (first2, done2)],
        "start_cold": [(sent1, first1)],
        "start_warm": [(sent2, first2)],
        "rewrite": [(sent1, done1), (sent2, done2)],
    }
    if cfg.samples_file is not None:  # the timeline, for a closer look
        t0 = idle[0]
        marks = {
            "t0": t0,  # perf_counter; all other times are relative to it
            "idle": [0.0, idle[1] - t0],
            "rewrites": [[x - t0 for x in r[2:]] for r in rewrites],  # sent, first edit, done
        }
        rows = [[s.kind, s.sent - t0, s.latency] for s in samples]
        edits = [getattr(e, "time", e) - t0 for e in edit_log]
        with cfg.samples_file.open("a") as f:
            f.write(
                json.dumps({"run": run, "marks": marks, "samples": rows, "edits": edits}) + "\n"
            )
    out: dict[str, Any] = {
        "status": [r[0] for r in rewrites],
        "edits": [r[1] for r in rewrites],
        "errors": len(errors),
        "error_examples": errors[:3],
        "phase_seconds": {k: sum(hi - lo for lo, hi in v) for k, v in phases.items()},
        "raw": {},
    }
    for phase, windows in phases.items():
        for kind in ("codeAction", "trivial"):
            out["raw"][f"{phase}/{kind}"] = [
                v for lo, hi in windows for v in latencies(samples, kind, lo, hi)
            ]
    return out


async def bench_code_actions_lean(
    cfg: Config, model: ScriptedModelServer, workload: Workload, run: int
) -> dict[str, Any]:
    """The same session from ``lean_client.py``: raw JSON-RPC, in its own process."""
    collect_now()
    model.clear()
    converter = get_converter()
    requests = [
        [converter.unstructure(params), expect]
        for params, expect in code_action_requests(workload, 2000, seed=run)
    ]
    expected, tasks = workload.text, []
    for name in ("ca_stream", "ca_stream2"):
        target = workload.targets[name]
        expected = expected.replace(target.code, enqueue_rewrite(model, target))
        tasks.append(run_arguments(target, "tidy the loop"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTLS_"))}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(HERE.parent / "server"), os.environ.get("PYTHONPATH", "")) if p
    )
    config = {
        "server": cfg.server("codeaction-lean"),
        "env": env,
        "root_uri": "file:///tmp/agentls-bench",
        "capabilities": converter.unstructure(client_capabilities("visual-studio-code")),
        "init_options": model_options(model.base_url),
        "uri": URI,
        "text": workload.text,
        "requests": requests,
        "period": cfg.period,
        "idle_seconds": cfg.idle_seconds,
        "tasks": tasks,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(HERE / "lean_client.py"),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate(json.dumps(config).encode())
    data = json.loads(out)
    samples = [Sample(kind, sent, latency, error) for kind, sent, latency, error in data["samples"]]
    rewrites = [tuple(r) for r in data["rewrites"]]
    result = split_phases(cfg, run, samples, tuple(data["idle"]), rewrites, [])  # type: ignore[arg-type]
    text_ok = data["text_sha256"] == hashlib.sha256(expected.encode()).hexdigest()
    result.update(wrong_answers=data["wrong_answers"], text_ok=text_ok)
    return result


async def bench_code_actions(
    cfg: Config, model: ScriptedModelServer, workload: Workload, lean: bool = False
) -> dict[str, Any]:
    runs = []
    session = bench_code_actions_lean if lean else bench_code_actions_once
    for i in range(cfg.runs):
        runs.append(await session(cfg, model, workload, i))
        r = runs[-1]
        log(
            f"  codeaction{' (lean client)' if lean else ''} run {i + 1}/{cfg.runs}: "
            f"status={r['status']} edits={r['edits']} "
            f"codeAction p99 idle={percentile(r['raw']['idle/codeAction'], 99) * 1e3:.2f} ms "
            f"streaming={percentile(r['raw']['streaming/codeAction'], 99) * 1e3:.2f} ms "
            f"task start max cold={max(r['raw']['start_cold/codeAction'] or [0]) * 1e3:.0f} ms "
            f"warm={max(r['raw']['start_warm/codeAction'] or [0]) * 1e3:.0f} ms"
        )
    pooled: dict[str, Any] = {}
    for key in runs[0]["raw"]:
        values = [v for r in runs for v in r["raw"][key]]
        pooled[key] = summary_ms(values)
        pooled[key]["per_run_p99"] = [percentile(r["raw"][key], 99) * 1e3 for r in runs]
    for phase in PHASES:
        ca, tr = pooled[f"{phase}/codeAction"], pooled[f"{phase}/trivial"]
        pooled[f"{phase}/server_p50"] = ca["p50"] - tr["p50"]
    for r in runs:
        del r["raw"]
    return {"runs": runs, "summary": pooled}
