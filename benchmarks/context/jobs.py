"""One job in a fresh worker process (wall time and peak memory of its process tree),
and the tasks a job carries."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.context import corpora
from benchmarks.context.common import CACHE, HERE, REPO, log
from benchmarks.context.tasks import Task, Use, check_blanked, generate

# -- subprocesses, wall time and peak memory of a process tree -------------------------


def _vm(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _tree_rss_kib(pid: int) -> int:
    total = 0
    stack = [pid]
    seen = set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    stack += [int(c) for c in f.read().split()]
        except (OSError, ValueError):
            continue
    return total


@dataclass
class Run:
    ok: bool
    wall: float
    peak_tree_rss_kib: int  # max over time of the sum of VmRSS of the process and its children
    # the worker process's own peak (VmHWM; not wait4's ru_maxrss, which also holds the
    # runner's size from before the exec)
    hwm_kib: int
    out: dict[str, Any] = field(default_factory=dict)
    error: str = ""


LOADS: list[float] = []  # 1-minute load average at the start of every job (others' work shows)


def run_worker(
    python: Path, script: str, job: dict[str, Any], tag: str, env: dict[str, str] | None = None
) -> Run:
    runs = CACHE / "context-runs" / "jobs"
    runs.mkdir(parents=True, exist_ok=True)
    job_path = runs / f"{tag}.job.json"
    out_path = runs / f"{tag}.out.json"
    err_path = runs / f"{tag}.stderr.txt"
    job_path.write_text(json.dumps(job))
    if out_path.exists():
        out_path.unlink()
    peak = 0
    hwm = 0
    LOADS.append(os.getloadavg()[0])
    t0 = time.perf_counter()
    with err_path.open("w") as err:
        proc = subprocess.Popen(
            [str(python), str(HERE / script), str(job_path), str(out_path)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            cwd=str(REPO),
            # a new hash seed per process, as a new editor session has (B7 relies on it)
            env={**os.environ, "PYTHONHASHSEED": "random", **(env or {})},
        )
        done = threading.Event()

        def sample() -> None:
            nonlocal peak, hwm
            while not done.is_set():
                peak = max(peak, _tree_rss_kib(proc.pid))
                hwm = max(hwm, _vm(proc.pid, "VmHWM:"))
                done.wait(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _pid, status, _usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
    try:
        out = json.loads(out_path.read_text())
    except (OSError, ValueError):
        out = {"ok": False, "error": f"no output (exit {proc.returncode})"}
    ok = proc.returncode == 0 and bool(out.get("ok"))
    error = ""
    if not ok:
        tail = [ln for ln in err_path.read_text(errors="replace").splitlines() if ln.strip()]
        error = str(out.get("error") or (tail[-1] if tail else f"exit {proc.returncode}"))[:300]
        log(f"{tag} failed: {error} (see {err_path.relative_to(REPO)})")
    return Run(ok, wall, peak, max(hwm, int(out.get("hwm_kib") or 0)), out, error)


# -- tasks ---------------------------------------------------------------------------


def load_tasks(corpus: corpora.Corpus, n: int, seed: int) -> tuple[list[Task], dict[str, int]]:
    path = CACHE / "tasks" / f"{corpus.root.name}-n{n}-s{seed}.json"
    if path.exists():
        data = json.loads(path.read_text())
        tasks = [Task(**{**t, "uses": [Use(**u) for u in t["uses"]]}) for t in data["tasks"]]
        return tasks, data["stats"]
    log(f"{corpus.name}: generating {n} tasks (ast over the corpus)")
    tasks, stats = generate(corpus, n, seed)
    for t in tasks:
        check_blanked(t)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"stats": stats, "tasks": [t.to_dict() for t in tasks]}))
    return tasks, stats


def request_of(task: Task) -> str:
    """The user's message in aider's chat (aider takes file and identifier mentions from it)."""
    return f"Implement {task.function}."


def job_tasks(tasks: list[Task], blank: bool = True) -> list[dict[str, Any]]:
    return [
        {
            "id": t.id,
            "path": t.path,
            "line": t.line,
            "column": t.column,
            "function": t.function,
            "request": request_of(t),
            **({"blanked": t.blanked} if blank else {}),
        }
        for t in tasks
    ]
