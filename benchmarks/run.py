"""agentls benchmarks: ``python benchmarks/run.py [--quick] [--runs N]`` (see README.md).

Three benchmarks against the real server (``python -m agentls``) over stdio, with the
test suite's fake editor and scripted OpenAI-compatible model server, all in this
process (so ``time.perf_counter()`` times are comparable):

1. ``codeaction``: code action latency on a 10k-line file, idle and while a rewrite
   streams into the same file, next to a trivial round trip (``agentls.status``).
2. ``streaming``: per line, SSE chunk that completed the line -> the applyEdit that
   first carries it; lost lines and reordered edits.
3. ``cpu``: server CPU time per streamed token (chunk), minus idle CPU.

Prints a Markdown table and writes ``benchmarks/results.json``. Each benchmark is a
module of its own (code_actions.py, streaming.py, cpu.py, trees.py; common.py holds
what they share, report.py the table); this file assembles and runs them.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import gc
import hashlib
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))

from benchmarks.code_actions import bench_code_actions  # noqa: E402
from benchmarks.common import (  # noqa: E402
    FILE_LINES,
    SSE_TARGET_LINES,
    TARGETS,
    TARGETS_QUICK_CPU,
    TOKENS_PER_SECOND,
    Config,
    log,
)
from benchmarks.cpu import bench_cpu  # noqa: E402
from benchmarks.harness import SERVER, self_check  # noqa: E402
from benchmarks.report import report  # noqa: E402
from benchmarks.streaming import bench_streaming  # noqa: E402
from benchmarks.trees import bench_trees  # noqa: E402
from benchmarks.workload import build_workload  # noqa: E402
from tests.support.model_server import ScriptedModelServer  # noqa: E402


async def main_async(cfg: Config) -> dict[str, Any]:
    self_check()
    targets = {name: (int(at * cfg.file_lines), n) for name, (at, n) in TARGETS.items()}
    for i in range(cfg.stream_runs + 1):
        at = 0.65 + 0.3 * i / (cfg.stream_runs + 1)
        targets[f"sse_line_{i}"] = (int(at * cfg.file_lines), SSE_TARGET_LINES)
    if cfg.quick:
        targets["cpu_long"] = (targets["cpu_long"][0], TARGETS_QUICK_CPU)
    workload = build_workload(cfg.file_lines, targets)
    log(
        f"workload: {workload.line_count} lines, {len(workload.text)} characters, "
        f"{len(workload.instruction_lines)} instruction comments"
    )
    model = ScriptedModelServer()
    await model.start()
    results: dict[str, Any] = {}
    # No automatic collections in this process while measuring: only at collect_now().
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        if "codeaction" in cfg.only:
            log("1. code action latency")
            results["codeaction"] = await bench_code_actions(cfg, model, workload)
        if "codeaction-lean" in cfg.only:
            log("1L. code action latency, lean client (raw JSON-RPC, its own process)")
            results["codeaction_lean"] = await bench_code_actions(cfg, model, workload, lean=True)
        if "streaming" in cfg.only:
            log("2. streaming overhead")
            results["streaming"] = await bench_streaming(cfg, model, workload)
        if "cpu" in cfg.only:
            log("3. CPU per streamed token")
            results["cpu"] = await bench_cpu(cfg, model, workload)
        if "trees" in cfg.only:
            log("4. syntax trees (in this process)")
            results["trees"] = bench_trees(cfg, workload)
    finally:
        gc.enable()
        await model.stop()
    return results


def source_fingerprint() -> dict[str, Any]:
    """sha256 of the server's sources (the measured code), and their newest mtime."""
    digest = hashlib.sha256()
    files = sorted((HERE.parent / "server" / "agentls").rglob("*"))
    files = [f for f in files if f.is_file() and "__pycache__" not in f.parts]
    for f in files:
        digest.update(str(f.relative_to(HERE.parent)).encode() + b"\0" + f.read_bytes())
    newest = max(f.stat().st_mtime for f in files)
    when = datetime.datetime.fromtimestamp(newest).astimezone().isoformat(timespec="seconds")
    return {"sha256": digest.hexdigest()[:16], "files": len(files), "newest_mtime": when}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="fewer, shorter runs (< 1 minute)")
    p.add_argument("--runs", type=int, help="code action runs (default 3, quick 1)")
    p.add_argument(
        "--stream-runs", type=int, help="warm streaming runs after the cold one (4, quick 1)"
    )
    p.add_argument("--cpu-runs", type=int, help="CPU runs (default 1)")
    p.add_argument("--period-ms", type=float, default=5.0, help="code action period (5 ms)")
    p.add_argument(
        "--only",
        default="codeaction,codeaction-lean,streaming,cpu,trees",
        help="comma-separated subset of codeaction,codeaction-lean,streaming,cpu,trees",
    )
    p.add_argument("--file-lines", type=int, default=FILE_LINES, help="size of the file (10000)")
    p.add_argument(
        "--plain-editor",
        action="store_true",
        help="apply edits with pygls' TextDocument (slow on big files) instead of the fast one",
    )
    p.add_argument(
        "--profile",
        metavar="DIR",
        type=Path,
        help="run the server under cProfile, one .prof per session in DIR (slower figures)",
    )
    p.add_argument(
        "--server-cmd",
        metavar="CMD",
        help=f"start the server with this command instead of {' '.join(SERVER)!r} (A/B tests)",
    )
    p.add_argument(
        "--samples", type=Path, help="append every code action sample (a timeline) to this file"
    )
    p.add_argument("--json", type=Path, default=HERE / "results.json", help="results file")
    args = p.parse_args(argv)
    cfg = Config(
        quick=args.quick,
        runs=args.runs or (1 if args.quick else 3),
        stream_runs=args.stream_runs or (1 if args.quick else 4),
        cpu_runs=args.cpu_runs or 1,
        idle_seconds=1.0 if args.quick else 2.0,
        period=args.period_ms / 1e3,
        fast_editor=not args.plain_editor,
        file_lines=args.file_lines,
        samples_file=args.samples,
        server_cmd=shlex.split(args.server_cmd) if args.server_cmd else None,
        profile_dir=args.profile,
        only={x.strip() for x in args.only.split(",") if x.strip()},
    )
    started = time.perf_counter()
    source = source_fingerprint()
    log(f"server sources: {source['sha256']} (newest file {source['newest_mtime']})")
    results = asyncio.run(main_async(cfg))
    if source_fingerprint() != source:
        log("WARNING: the server's sources changed during the run; figures mix two versions")
    table = report(results)
    elapsed = time.perf_counter() - started
    print(table)
    meta = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "server_source": source,
        "server_source_changed_during_run": source_fingerprint() != source,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "config": {
            "quick": cfg.quick,
            "runs": cfg.runs,
            "stream_runs": cfg.stream_runs,
            "cpu_runs": cfg.cpu_runs,
            "period_ms": cfg.period * 1e3,
            "tokens_per_second": TOKENS_PER_SECOND,
            "fast_editor": cfg.fast_editor,
            "file_lines": cfg.file_lines,
            "profiled": cfg.profile_dir is not None,
            "server_cmd": cfg.server_cmd,
        },
        "seconds": elapsed,
        "table": table,
    }
    args.json.write_text(json.dumps({**meta, "results": results}, indent=1) + "\n")
    log(f"took {elapsed:.0f} s; wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
