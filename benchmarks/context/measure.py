"""The measurements: B3, B2/B5 and B7 on one corpus for both sides, and B4 (agentls'
didChange) on a 10k-line file."""

from __future__ import annotations

import argparse
from typing import Any

from benchmarks.context import corpora
from benchmarks.context.common import (
    AIDER_PY,
    BUDGETS,
    CACHE,
    DET_BUDGET,
    OURS_PY,
    log,
)
from benchmarks.context.jobs import job_tasks, load_tasks, run_worker
from benchmarks.context.scoring import SideResult, pct, score


def bench_corpus(
    name: str, args: argparse.Namespace, aider_status: str | None, ours_status: str | None
) -> dict[str, Any]:
    corpus = corpora.get(name)
    tasks, task_stats = load_tasks(corpus, args.tasks, args.seed)
    files = [str(p.relative_to(corpus.root)) for p in corpora.all_files(corpus.root)]
    log(f"{name}: {len(files)} files, {len(tasks)} tasks ({task_stats})")
    det_tasks = tasks[:: max(1, len(tasks) // args.det_tasks)][: args.det_tasks]
    ours = SideResult(status=ours_status or "ok")
    aider = SideResult(status=aider_status or "ok")
    ours_cache = CACHE / "agentls-index" / corpus.root.name
    work = CACHE / "aider-work" / corpus.root.name
    base_job: dict[str, Any] = {"budgets": list(BUDGETS), "files": files}

    # B3: cold, each in a fresh process
    for i in range(args.cold_runs):
        if ours.status == "ok":
            log(f"{name}: B3 agentls cold index build, run {i + 1}")
            job = {
                **base_job,
                "mode": "cold",
                "root": str(corpus.root),
                "cache_dir": str(ours_cache),
            }
            run = run_worker(
                OURS_PY,
                "ours_worker.py",
                {**job, "tasks": job_tasks(tasks[:1])},
                f"{name}-ours-cold{i}",
            )
            ours.cold.append(run)
            if not run.ok:
                ours.status = f"failed: {run.error}"
        if aider.status == "ok":
            corpora.sync_copy(corpus.root, work)
            log(f"{name}: B3 aider cold repo map (tags cache removed), run {i + 1}")
            job = {**base_job, "mode": "cold", "root": str(work), "pristine": str(corpus.root)}
            run = run_worker(
                AIDER_PY,
                "aider_worker.py",
                {**job, "tasks": job_tasks(tasks[:1], blank=False)},
                f"{name}-aider-cold{i}",
            )
            aider.cold.append(run)
            if not run.ok:
                aider.status = f"failed: {run.error}"

    # B2 + B5: warm, every task at every budget, the blanked file as unsaved text / chat file
    if ours.status == "ok":
        log(f"{name}: B2/B5 agentls, {len(tasks)} tasks x {len(BUDGETS)} budgets")
        job = {**base_job, "mode": "tasks", "root": str(corpus.root), "cache_dir": str(ours_cache)}
        run = run_worker(
            OURS_PY, "ours_worker.py", {**job, "tasks": job_tasks(tasks)}, f"{name}-ours-tasks"
        )
        if run.ok:
            score(ours, tasks, run.out["results"], "ours")
            ours.extra["warm_reload_seconds"] = run.out.get("build_seconds")
            ours.extra["tasks_peak_tree_rss_kib"] = run.peak_tree_rss_kib
        else:
            ours.status = f"failed: {run.error}"
    if aider.status == "ok":
        corpora.sync_copy(corpus.root, work)
        log(f"{name}: B2/B5 aider, {len(tasks)} tasks x {len(BUDGETS)} budgets")
        job = {**base_job, "mode": "tasks", "root": str(work), "pristine": str(corpus.root)}
        run = run_worker(
            AIDER_PY, "aider_worker.py", {**job, "tasks": job_tasks(tasks)}, f"{name}-aider-tasks"
        )
        if run.ok:
            score(aider, tasks, run.out["results"], "aider")
            aider.extra["tasks_peak_tree_rss_kib"] = run.peak_tree_rss_kib
        else:
            aider.status = f"failed: {run.error}"

    # B7: the same selections in fresh processes, compared byte for byte with the B5 run
    for side, py, script, root in (
        (ours, OURS_PY, "ours_worker.py", corpus.root),
        (aider, AIDER_PY, "aider_worker.py", work),
    ):
        if side.status != "ok" or not det_tasks:
            continue
        label = "ours" if side is ours else "aider"
        same = [0] * len(det_tasks)
        for i in range(args.det_runs - 1):
            log(f"{name}: B7 {label} determinism, fresh process {i + 2} of {args.det_runs}")
            if side is aider:
                corpora.sync_copy(corpus.root, work)
            job = {
                **base_job,
                "budgets": [DET_BUDGET],
                "mode": "tasks",
                "root": str(root),
                "pristine": str(corpus.root),
                "cache_dir": str(ours_cache),
                "tasks": job_tasks(det_tasks),
            }
            run = run_worker(py, script, job, f"{name}-{label}-det{i}")
            if not run.ok:
                side.determinism["error"] = run.error
                break
            again = {r["id"]: r["text"] for r in run.out["results"]}
            for k, t in enumerate(det_tasks):
                same[k] += again.get(t.id) == side.outputs.get((t.id, DET_BUDGET))
        if "error" not in side.determinism:
            identical = sum(1 for s in same if s == args.det_runs - 1)
            side.determinism.update(
                {"tasks": len(det_tasks), "runs": args.det_runs, "identical": identical}
            )

    return {
        "corpus": name,
        "version": corpus.version,
        "files": len(files),
        "task_stats": task_stats,
        "ours": ours,
        "aider": aider,
    }


def bench_didchange(ours_status: str | None, typing: str = "comment") -> dict[str, Any]:
    """B4: typing " # word" at the end of 30 lines ("comment", 300 keystrokes) or
    ``x = 1`` on a new line of 50 function bodies ("statement", 300 changes)."""
    if ours_status:
        return {"status": ours_status}
    log(f"B4 agentls didChange on a 10k-line file (300 keystrokes, typing a {typing})")
    job = {
        "mode": "didchange",
        "workspace": str(CACHE / "didchange-ws"),
        "cache_dir": str(CACHE / "agentls-index" / "didchange-ws"),
        "lines": 10_000,
        "places": 30 if typing == "comment" else 50,
        "per_place": 10,
        "typing": typing,
    }
    run = run_worker(OURS_PY, "ours_worker.py", job, f"didchange-{typing}")
    if not run.ok:
        return {"status": f"failed: {run.error}"}
    out: dict[str, Any] = {
        "status": "ok",
        "missing": run.out.get("missing"),
        "index_api": run.out.get("index_api"),
        "engine_trees": run.out.get("engine_trees"),
        "incremental_changes": run.out.get("incremental_changes"),
        "n": len(run.out["seconds"]),
        "lines": run.out.get("lines"),
        "reparses": run.out.get("reparses"),
    }
    for part in ("seconds", "store", "tree", "index"):
        secs = run.out[part]
        key = "total" if part == "seconds" else part
        out[key] = {
            "p50_ms": pct(secs, 0.5) * 1000,
            "p99_ms": pct(secs, 0.99) * 1000,
            "max_ms": max(secs) * 1000,
        }
    return out
