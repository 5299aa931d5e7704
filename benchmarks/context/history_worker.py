"""One side of the history benchmark on one repository's tasks, in a fresh process.

    .venv/bin/python benchmarks/context/history_worker.py JOB.json OUT.json       # agentls
    <aider venv>/bin/python benchmarks/context/history_worker.py JOB.json OUT.json  # aider

For each task, oldest first, the job's work tree is set to the task's parent commit
(``git read-tree --reset -u`` with a private index: files that do not change keep
their modification times, so aider's tags cache and agentls' index are brought up to
date instead of rebuilt, as in an editor that stays open), then the side runs at every
budget at the changed function. agentls: ``ContextEngine(root, cache_dir).build()``
then ``select(path, line, column, budget)``, as ``ours_worker.py`` does. aider:
``aider_worker.AiderSide`` (``RepoMap`` as ``Coder.get_repo_map`` calls it) with the
task's file as the chat file, told the function's name. Imports nothing of agentls in
the aider virtualenv.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


def checkout(job: dict[str, Any], commit: str) -> list[str]:
    """The work tree at ``commit``; its files (what ``git ls-files`` would list)."""
    env = {**os.environ, "GIT_INDEX_FILE": job["index"]}
    git = ["git", "--git-dir", job["gitdir"], "--work-tree", job["work"]]
    Path(job["work"]).mkdir(parents=True, exist_ok=True)
    subprocess.run([*git, "read-tree", "--reset", "-u", commit], check=True, env=env)
    listing = subprocess.run(
        [*git, "ls-files", "-z"], check=True, env=env, capture_output=True
    ).stdout
    return sorted(p for p in listing.decode("utf-8", "replace").split("\0") if p)


def run_ours(job: dict[str, Any]) -> list[dict[str, Any]]:
    sys.path[:0] = [str(Path(os.environ.get("AGENTLS_BENCH_SRC") or REPO / "server"))]
    from agentls.context.engine import ContextEngine

    out: list[dict[str, Any]] = []
    for task in job["tasks"]:
        checkout(job, task["parent"])
        t0 = time.perf_counter()
        engine = ContextEngine(Path(job["work"]), cache_dir=Path(job["cache_dir"]))
        engine.build()
        build = time.perf_counter() - t0
        for budget in job["budgets"]:
            t0 = time.perf_counter()
            sel = engine.select(task["path"], task["line"], task["column"], budget)
            data = sel.to_json()
            out.append(
                {
                    "id": task["id"],
                    "budget": budget,
                    "seconds": time.perf_counter() - t0,
                    "build_seconds": build,
                    "tokens": data.get("totalTokens"),
                    "snippets": [[str(s["path"]), str(s["text"])] for s in data["snippets"]],
                    "text": json.dumps(data, ensure_ascii=False, sort_keys=True),
                }
            )
    return out


def run_aider(job: dict[str, Any]) -> list[dict[str, Any]]:
    sys.path.insert(0, str(HERE))
    from aider_worker import AiderSide, memoize_ranking  # type: ignore[import-not-found]

    out: list[dict[str, Any]] = []
    root = Path(job["work"])
    for task in job["tasks"]:
        files = checkout(job, task["parent"])
        side = AiderSide(root, files, job["budgets"][0])
        memoize_ranking(side)
        for budget in job["budgets"]:
            t0 = time.perf_counter()
            text = side.repo_map(task["path"], task["request"], budget)
            out.append(
                {
                    "id": task["id"],
                    "budget": budget,
                    "seconds": time.perf_counter() - t0,
                    "tokens": side.model.token_count(text),
                    "text": text,
                }
            )
    return out


def main() -> int:
    job = json.loads(Path(sys.argv[1]).read_text())
    results = run_ours(job) if job["side"] == "agentls" else run_aider(job)
    Path(sys.argv[2]).write_text(json.dumps({"ok": True, "results": results}))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:  # the runner reports it in the table
        import traceback

        traceback.print_exc()
        Path(sys.argv[2]).write_text(json.dumps({"ok": False, "error": repr(exc)}))
        sys.exit(1)
