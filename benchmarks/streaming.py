"""2. ``streaming``: per line, SSE chunk that completed the line -> the applyEdit that
first carries it; lost lines and reordered edits."""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from benchmarks.common import (
    TOKENS_PER_SECOND,
    URI,
    Config,
    collect_now,
    log,
    open_document,
    run_arguments,
)
from benchmarks.harness import bench_session, percentile, summary_ms
from benchmarks.workload import Workload, model_reply, rewrite_of
from tests.support.lsp_session import command, model_options
from tests.support.model_server import ScriptedModelServer, text_reply


def analyse_stream(
    chunks: list[tuple[float, str]],
    reply: str,
    code: str,
    records: list[Any],
    stream_end: float,
) -> dict[str, Any]:
    """Per code line: (chunk that completed it) -> (first edit that shows it in place)."""
    text = "".join(c for _, c in chunks)
    assert text == reply, "the chunk log does not spell the reply"
    starts, at = [], 0
    for _, content in chunks:
        starts.append(at)
        at += len(content)
    code_lines = code.split("\n")[:-1]
    fence_end = reply.index("```python\n") + len("```python\n")
    completed_at, pos = [], fence_end
    for line in code_lines:
        pos += len(line)  # reply[pos] is the newline that completes this line
        assert reply[pos] == "\n"
        completed_at.append(chunks[bisect_right(starts, pos) - 1][0])
        pos += 1

    shown: list[int] = []  # after each edit: how many leading code lines are in place
    for record in records:
        region = record.region.split("\n")
        n = 0
        while n < len(code_lines) and n < len(region) - 1 and region[n] == code_lines[n]:
            n += 1
        shown.append(n)
    delivered: list[float | None] = [None] * len(code_lines)
    for record, n in zip(records, shown, strict=True):
        if record.outcome != "applied":
            continue
        for k in range(n):
            if delivered[k] is None:
                delivered[k] = record.time
    latency = [
        d - c
        for d, c in zip(delivered, completed_at, strict=True)
        if d is not None and d < stream_end
    ]
    lost = sum(1 for d in delivered if d is None or d >= stream_end)
    versions = [r.version for r in records]
    reordered = sum(
        1
        for i in range(1, len(records))
        if (
            versions[i] is not None
            and versions[i - 1] is not None
            and versions[i] <= versions[i - 1]
        )
        or shown[i] < shown[i - 1]
    )
    return {
        "latency": latency,
        "lines": len(code_lines),
        "lost": lost,
        "reordered": reordered,
        "not_applied": sum(1 for r in records if r.outcome != "applied"),
        "edits": len(records),
        "negative": sum(1 for v in latency if v < 0),
    }


async def bench_streaming(
    cfg: Config, model: ScriptedModelServer, workload: Workload
) -> dict[str, Any]:
    """One session: a first (cold) rewrite, then ``stream_runs`` warm ones, each measured."""
    names = [f"sse_line_{i}" for i in range(cfg.stream_runs + 1)]
    runs = []
    expected = workload.text
    async with bench_session(
        model_options(model.base_url), server=cfg.server("streaming"), fast_editor=cfg.fast_editor
    ) as (client, editor, pid):
        await open_document(client, editor, workload, pid)
        for i, name in enumerate(names):
            target = workload.targets[name]
            code = rewrite_of(target)
            reply = model_reply(code)
            expected = expected.replace(target.code, code)
            model.clear()
            editor.records.clear()
            collect_now()
            editor.watch_region(URI, target.first_line, len(target.code) + len(code) + 2000)
            model.enqueue(text_reply(reply, tokens_per_second=TOKENS_PER_SECOND, chunk="token"))
            result = await command(client, "agentls.run", run_arguments(target, "tidy the loop"))
            text_ok = editor.text(URI) == expected
            chunks = [c for c in model.chunk_log if c.request_index == 0]
            content = [(c.time, c.content) for c in chunks if c.content]
            if result.get("status") == "done" and chunks:
                stream_end = max(c.time for c in chunks)
                r = analyse_stream(content, reply, code, list(editor.records), stream_end)
            else:  # the task failed: every line counts as lost
                lines = code.count("\n")
                r = {"latency": [], "lines": lines, "lost": lines, "reordered": 0}
                r.update(not_applied=0, edits=len(editor.records), negative=0)
                log(f"  the rewrite failed: {result.get('summary')}")
            r.update(status=result.get("status"), text_ok=text_ok, tokens=len(content), cold=i == 0)
            runs.append(r)
            log(
                f"  streaming {'cold' if i == 0 else 'warm'} run {i}/{cfg.stream_runs}: "
                f"status={r['status']} edits={r['edits']} lines={r['lines']} lost={r['lost']} "
                f"reordered={r['reordered']} p50={percentile(r['latency'], 50) * 1e3:.2f} ms "
                f"p99={percentile(r['latency'], 99) * 1e3:.2f} ms "
                f"max={max(r['latency'] or [0]) * 1e3:.1f} ms"
            )
    warm = [r for r in runs if not r["cold"]]
    pooled = summary_ms([v for r in warm for v in r["latency"]])
    pooled["per_run_p99"] = [percentile(r["latency"], 99) * 1e3 for r in warm]
    pooled["per_run_p50"] = [percentile(r["latency"], 50) * 1e3 for r in warm]
    pooled["cold"] = summary_ms(runs[0]["latency"])
    pooled["cold_first_line_ms"] = (
        runs[0]["latency"][0] * 1e3 if runs[0]["latency"] else float("nan")
    )
    for key in ("lost", "reordered", "not_applied", "negative", "lines"):
        pooled[key] = sum(r[key] for r in runs)  # all runs, cold included
    pooled["text_ok"] = all(r["text_ok"] for r in runs)
    for r in runs:
        r["latency_ms"] = [round(v * 1e3, 3) for v in r.pop("latency")]
    return {"runs": runs, "summary": pooled}
