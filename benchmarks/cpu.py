"""3. ``cpu``: server CPU time per streamed token (chunk), minus idle CPU, next to the
CPU of the model client alone (``sdk_floor.py``)."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from typing import Any

from benchmarks.common import (
    HERE,
    TOKENS_PER_SECOND,
    URI,
    Config,
    collect_now,
    log,
    open_document,
    quiesce,
    run_arguments,
)
from benchmarks.harness import bench_session, cpu_seconds
from benchmarks.workload import Workload, model_reply, rewrite_of
from tests.support.lsp_session import command, model_options
from tests.support.model_server import ScriptedModelServer, text_reply


async def sdk_floor(cfg: Config, model: ScriptedModelServer, reply: str) -> dict[str, Any]:
    """CPU per chunk of agentls' model client alone (no LSP), in its own process."""
    model.clear()
    model.enqueue(
        text_reply(reply),  # warm-up, at full speed
        text_reply(reply, tokens_per_second=TOKENS_PER_SECOND, chunk="token"),
    )
    env = {**os.environ, "PYTHONPATH": str(HERE.parent / "server")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(HERE / "sdk_floor.py"),
        model.base_url,
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    out, _ = await proc.communicate()
    data: dict[str, Any] = json.loads(out)
    data["ms_per_chunk"] = data["cpu_seconds"] / data["chunks"] * 1e3
    return data


async def bench_cpu(cfg: Config, model: ScriptedModelServer, workload: Workload) -> dict[str, Any]:
    target = workload.targets["cpu_long"]
    code = rewrite_of(target)
    reply = model_reply(code)
    warmup = workload.targets["cpu_warmup"]
    runs = []
    for i in range(cfg.cpu_runs):
        collect_now()
        model.clear()
        async with bench_session(
            model_options(model.base_url), server=cfg.server("cpu"), fast_editor=cfg.fast_editor
        ) as (client, editor, pid):
            await open_document(client, editor, workload, pid)
            # The session's first task pays one-off costs (imports, tokenizer tables,
            # lazily generated (de)serialisers): run one at full speed first.
            model.enqueue(text_reply(model_reply(rewrite_of(warmup))))
            cold0 = cpu_seconds(pid)
            await command(client, "agentls.run", run_arguments(warmup, "tidy the loop"))
            cold = cpu_seconds(pid) - cold0
            # Work the server does a while after a task (the syntax tree's idle reparse
            # 0.3 s after the last change, the context engine's) must not fall into the
            # idle window: it would be subtracted from the task as "idle" CPU.
            await asyncio.sleep(1.0)
            await quiesce(pid)
            c0, t0 = cpu_seconds(pid), time.perf_counter()
            await asyncio.sleep(cfg.idle_seconds)
            c1, t1 = cpu_seconds(pid), time.perf_counter()
            idle_rate = (c1 - c0) / (t1 - t0)
            model.clear()
            model.enqueue(text_reply(reply, tokens_per_second=TOKENS_PER_SECOND, chunk="token"))
            c2, t2 = cpu_seconds(pid), time.perf_counter()
            seen = len(editor.log)
            result = await command(client, "agentls.run", run_arguments(target, "tidy the loop"))
            c3, t3 = cpu_seconds(pid), time.perf_counter()
            expected = workload.text.replace(warmup.code, rewrite_of(warmup))
            text_ok = editor.text(URI) == expected.replace(target.code, code)
            edits = len([e for e in editor.log[seen:] if e.outcome == "applied"])
        tokens = len([c for c in model.chunk_log if c.request_index == 0 and c.content])
        busy = (c3 - c2) - idle_rate * (t3 - t2)
        r = {
            "status": result.get("status"),
            "text_ok": text_ok,
            "tokens": tokens,
            "lines": code.count("\n"),
            "edits": edits,
            "seconds": t3 - t2,
            "cpu_seconds": c3 - c2,
            "idle_cpu_per_second": idle_rate,
            "ms_per_token": busy / tokens * 1e3,
            "ms_per_edit": busy / max(edits, 1) * 1e3,
            "cpu_share": (c3 - c2) / (t3 - t2),
            "first_task_cpu_seconds": cold,
        }
        runs.append(r)
        log(
            f"  cpu run {i + 1}/{cfg.cpu_runs}: status={r['status']} tokens={tokens} "
            f"edits={edits} cpu={r['cpu_seconds']:.2f}s over {r['seconds']:.1f}s "
            f"idle={idle_rate * 1e3:.2f} ms/s -> {r['ms_per_token']:.3f} ms/token "
            f"(first task: {cold:.2f} s CPU)"
        )
    summary: dict[str, Any] = {
        key: statistics.median(r[key] for r in runs)
        for key in (
            "ms_per_token",
            "ms_per_edit",
            "cpu_share",
            "tokens",
            "edits",
            "first_task_cpu_seconds",
        )
    }
    summary["text_ok"] = all(r["text_ok"] for r in runs)
    floor = await sdk_floor(cfg, model, model_reply(rewrite_of(workload.targets["ca_stream"])))
    log(f"  model client alone: {floor['ms_per_chunk']:.3f} ms CPU per chunk")
    summary["sdk_ms_per_chunk"] = floor["ms_per_chunk"]
    return {"runs": runs, "sdk_floor": floor, "summary": summary}
