"""agentls' context engine on a job of the context benchmark; runs in the project's .venv.

    .venv/bin/python benchmarks/context/ours_worker.py JOB.json OUT.json

The same job format and output as ``aider_worker.py``: ``cold`` (an empty index
folder, ``build()``, then the first selection), ``tasks`` (reload the index from its
folder, then every task at every budget, the blanked file given as the unsaved
buffer), and ``didchange`` (benchmark 4).
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
# the agentls sources to measure: a snapshot of a commit (see run.py --ours-src) or server/
SRC = Path(os.environ.get("AGENTLS_BENCH_SRC") or REPO / "server")
sys.path[:0] = [str(SRC), str(REPO)]


def _stats(stats: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in ("files", "definitions", "seconds"):
        v = getattr(stats, k, None)
        if isinstance(v, int | float):
            out[k] = v
    return out


def run_tasks(job: dict[str, Any], engine: Any) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for task in job["tasks"]:
        for budget in job["budgets"]:
            t0 = time.perf_counter()
            sel = engine.select(
                task["path"], task["line"], task["column"], budget, text=task.get("blanked")
            )
            seconds = time.perf_counter() - t0
            data = sel.to_json()
            results.append(
                {
                    "id": task["id"],
                    "budget": budget,
                    "seconds": seconds,
                    "tokens": data.get("totalTokens"),
                    "json": data,
                    "text": json.dumps(data, ensure_ascii=False),
                }
            )
    return results


# Benchmark 4. The documented API has ``select(..., text=)`` but no didChange entry
# yet; these are the names we look for, in order, with the call we make. TODO: settle
# on the engine's real per-document API once it is there (see README "B4").
DIDCHANGE_APIS = ("did_change", "change_document", "update_document", "apply_change")


def _didchange_api(engine: Any) -> str | None:
    for name in DIDCHANGE_APIS:
        if callable(getattr(engine, name, None)):
            return name
    return None


def run_didchange(job: dict[str, Any]) -> dict[str, Any]:
    from agentls.context.engine import ContextEngine
    from benchmarks.workload import build_workload

    ws = Path(job["workspace"])
    if ws.exists():
        shutil.rmtree(ws)
    ws.mkdir(parents=True)
    text = build_workload(job.get("lines", 10_000)).text
    (ws / "big_module.py").write_text(text, encoding="utf-8")
    (ws / "helpers.py").write_text("def helper(x):\n    return x\n", encoding="utf-8")
    engine = ContextEngine(ws, cache_dir=Path(job["cache_dir"]))
    engine.build()
    api = _didchange_api(engine)
    if api is None:
        return {
            "ok": True,
            "missing": "ContextEngine has none of "
            + ", ".join(DIDCHANGE_APIS)
            + "; measured select(text=) after each change instead",
            **_didchange_via_select(engine, text, job),
        }
    return {"ok": True, "api": api, **_didchange_via(engine, api, text, job)}


def _edits(text: str, n: int, seed: int = 4) -> list[tuple[int, int, str]]:
    """(line, column, inserted text): typing-like single edits over the whole file."""
    rng = random.Random(seed)
    lines = text.split("\n")
    out = []
    for _ in range(n):
        line = rng.randrange(len(lines))
        col = len(lines[line]) - len(lines[line].lstrip())
        out.append((line, col, rng.choice(["x", "# c\n", "y = 1\n", " "])))
    return out


def _apply(lines: list[str], line: int, col: int, ins: str) -> list[str]:
    s = lines[line]
    new = (s[:col] + ins + s[col:]).split("\n")
    return lines[:line] + new + lines[line + 1 :]


def _didchange_via(engine: Any, api: str, text: str, job: dict[str, Any]) -> dict[str, Any]:
    fn = getattr(engine, api)
    lines = text.split("\n")
    times = []
    version = 1
    for line, col, ins in _edits(text, job.get("edits", 300)):
        lines = _apply(lines, line, col, ins)
        version += 1
        new_text = "\n".join(lines)
        change = {
            "range": {
                "start": {"line": line, "character": col},
                "end": {"line": line, "character": col},
            },
            "text": ins,
        }
        t0 = time.perf_counter()
        fn("big_module.py", version, [change], new_text)
        times.append(time.perf_counter() - t0)
    return {"seconds": times}


def _didchange_via_select(engine: Any, text: str, job: dict[str, Any]) -> dict[str, Any]:
    """Stand-in: the time to a selection on the changed unsaved text (tree current)."""
    lines = text.split("\n")
    times = []
    for line, col, ins in _edits(text, job.get("edits", 100)):
        lines = _apply(lines, line, col, ins)
        new_text = "\n".join(lines)
        t0 = time.perf_counter()
        engine.select("big_module.py", line, col, 256, text=new_text)
        times.append(time.perf_counter() - t0)
    return {"seconds": times}


def main() -> int:
    job = json.loads(Path(sys.argv[1]).read_text())
    out_path = Path(sys.argv[2])
    import agentls

    result: dict[str, Any] = {"ok": True, "agentls_from": str(Path(agentls.__file__).parent)}
    if job["mode"] == "didchange":
        result.update(run_didchange(job))
    else:
        t_start = time.perf_counter()
        from agentls.context.engine import ContextEngine

        result["import_seconds"] = time.perf_counter() - t_start
        root = Path(job["root"])
        cache_dir = Path(job["cache_dir"])
        if job["mode"] == "cold" and cache_dir.exists():
            shutil.rmtree(cache_dir)
        t0 = time.perf_counter()
        engine = ContextEngine(root, cache_dir=cache_dir)
        stats = engine.build()
        result["build_seconds"] = time.perf_counter() - t0
        result["build"] = _stats(stats)
        if job["mode"] == "cold":
            job = {**job, "tasks": job["tasks"][:1], "budgets": job["budgets"][:1]}
        result["results"] = run_tasks(job, engine)
        if job["mode"] == "cold":
            result["first_select_seconds"] = result["results"][0]["seconds"]
    result["maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result["children_maxrss_kib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result["pid"] = os.getpid()
    out_path.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:  # the runner reports it in the table
        import traceback

        traceback.print_exc()
        Path(sys.argv[2]).write_text(json.dumps({"ok": False, "error": repr(exc)}))
        sys.exit(1)
