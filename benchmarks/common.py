"""What every benchmark of run.py shares: the file and the functions it rewrites,
the targets, the settings of a run (``Config``) and the waits between measurements."""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.harness import PROFILED_SERVER, SERVER, BenchEditor, cpu_seconds
from benchmarks.workload import Target, Workload
from tests.support.lsp_session import command

HERE = Path(__file__).resolve().parent  # benchmarks/
URI = "file:///tmp/agentls-bench/big_module.py"
TOKENS_PER_SECOND = 200
FILE_LINES = 10_000
# name -> (where in the file, as a fraction, lines): the functions the benchmarks rewrite.
TARGETS = {
    "cpu_warmup": (0.05, 40),
    "cpu_long": (0.25, 300),
    "ca_stream": (0.5, 40),
    "ca_stream2": (0.6, 40),
}
SSE_TARGET_LINES = 60  # sse_line_0 .. sse_line_N between 65% and 95% of the file
TARGETS_QUICK_CPU = 60  # --quick: a 60-line function for the CPU benchmark

CODE_ACTION_TARGET_MS = 5.0
PHASES = {
    "idle": "idle",
    "streaming": "while edits stream",
    "start_warm": "during a task's start (2nd task)",
    "start_cold": "during the session's first task start",
    "rewrite": "whole rewrites (start + streaming)",
}
STREAM_TARGET_MS = 10.0
CPU_TARGET_MS = 0.5


@dataclass
class Config:
    quick: bool
    runs: int
    stream_runs: int
    cpu_runs: int
    idle_seconds: float
    period: float  # seconds between two code action requests
    fast_editor: bool
    file_lines: int
    samples_file: Path | None
    server_cmd: list[str] | None
    profile_dir: Path | None
    only: set[str]

    def server(self, name: str) -> list[str]:
        if self.profile_dir is None:
            return self.server_cmd or SERVER
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%H%M%S")
        return [*PROFILED_SERVER, str(self.profile_dir / f"{name}-{stamp}-{os.getpid()}.prof")]


def collect_now() -> None:
    """Collect this process's garbage now, between measurements.

    The benchmark process (fake editor, model server, pinger) runs with its garbage
    collector disabled (see ``main_async``): a full collection of its own objects
    takes ~40-70 ms, and the samples in flight would wrongly charge it to the server.
    """
    gc.collect()


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


async def open_document(client: Any, editor: BenchEditor, workload: Workload, pid: int) -> None:
    """Open the file, then wait until the server is idle (start-up work, warm-ups)."""
    editor.open(URI, workload.text)
    await command(client, "agentls.status")  # the server has the document now
    await quiesce(pid)


async def quiesce(pid: int, timeout: float = 10.0) -> float:
    """Wait until the server used at most one clock tick of CPU in two 100 ms windows."""
    started = time.perf_counter()
    calm, last = 0, cpu_seconds(pid)
    while calm < 2 and time.perf_counter() - started < timeout:
        await asyncio.sleep(0.1)
        now = cpu_seconds(pid)
        calm = calm + 1 if now - last <= 0.011 else 0
        last = now
    return time.perf_counter() - started


def run_arguments(target: Target, instruction: str) -> dict[str, Any]:
    at = {"line": target.first_line + 3, "character": 4}  # inside the function body
    return {"instruction": instruction, "uri": URI, "range": {"start": at, "end": at}}
