"""Context benchmark: agentls' context engine side by side with aider's RepoMap.

    .venv/bin/python benchmarks/context/run.py            # Django + CPython Lib/, ~11-15 min
    .venv/bin/python benchmarks/context/run.py --quick    # Django only, 12 tasks, ~2 min

Prints one Markdown table on stdout (progress on stderr) and writes the figures to
``benchmarks/context/results.json`` (when under 100 KB; the raw contexts of the run go
to ``benchmarks/.cache/context-runs/``). See ``benchmarks/context/README.md``.
"""

# The parts: common.py (paths, budgets, log), sides.py (aider's virtualenv, the agentls
# sources), jobs.py (a job in a fresh worker process), scoring.py (recall, times),
# measure.py (B2-B5 and B7 per corpus, B4), report.py (the table); this file runs them.

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.context import corpora  # noqa: E402
from benchmarks.context.common import CACHE, log  # noqa: E402
from benchmarks.context.jobs import LOADS  # noqa: E402
from benchmarks.context.measure import bench_corpus, bench_didchange  # noqa: E402
from benchmarks.context.report import table  # noqa: E402
from benchmarks.context.sides import (  # noqa: E402
    aider_versions,
    engine_available,
    ours_source,
    setup_aider,
)

RESULTS = HERE / "results.json"
RESULTS_MAX_BYTES = 100_000


def git_head() -> str:
    r = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=REPO, check=False
    )
    return r.stdout.strip()


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--quick", action="store_true", help="Django only, 12 tasks, 2 processes for B7"
    )
    ap.add_argument(
        "--corpora", default=None, help="comma-separated: django,cpython,flask,requests"
    )
    ap.add_argument(
        "--tasks", type=int, default=None, help="B5 tasks per corpus (default 50, quick 12)"
    )
    ap.add_argument(
        "--det-tasks", type=int, default=None, help="B7 tasks per corpus (default 5, quick 3)"
    )
    ap.add_argument(
        "--det-runs", type=int, default=3, help="B7 processes (the B5 run is the first)"
    )
    ap.add_argument(
        "--cold-runs", type=int, default=None, help="B3 runs per side and corpus (2, quick 1)"
    )
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--no-aider", action="store_true", help="agentls only")
    ap.add_argument("--no-ours", action="store_true", help="aider only")
    ap.add_argument(
        "--only-b4",
        action="store_true",
        help="B4 (didChange) only: no corpora; results in .cache/context-b4.json",
    )
    ap.add_argument("--reinstall-aider", action="store_true")
    ap.add_argument("--setup-only", action="store_true", help="fetch corpora, make the aider venv")
    ap.add_argument(
        "--ours-src",
        default="HEAD",
        help="agentls sources: a git commit (snapshot, default HEAD) or 'worktree' (server/ as is)",
    )
    ap.add_argument(
        "--json",
        type=Path,
        default=None,
        help="results file (default benchmarks/context/results.json; --quick: in .cache)",
    )
    args = ap.parse_args()
    names = (args.corpora or ("django" if args.quick else "django,cpython")).split(",")
    args.tasks = args.tasks or (12 if args.quick else 50)
    args.cold_runs = args.cold_runs or (1 if args.quick else 2)
    if args.only_b4:
        names = []
    if args.json is None:
        args.json = (
            CACHE / "context-b4.json"
            if args.only_b4
            else CACHE / "context-quick.json"
            if args.quick
            else RESULTS
        )
    args.det_tasks = args.det_tasks or (3 if args.quick else 5)
    if args.quick and args.det_runs == 3:
        args.det_runs = 2

    aider_status = (
        "skipped (--no-aider)"
        if args.no_aider or args.only_b4
        else setup_aider(args.reinstall_aider)
    )
    try:
        src, src_label = ours_source(args.ours_src)
    except (OSError, subprocess.CalledProcessError) as exc:
        log(f"no snapshot of {args.ours_src} ({exc}): measuring server/ as it is")
        src, src_label = REPO / "server", "working tree"
    os.environ["AGENTLS_BENCH_SRC"] = str(src)  # for the workers
    ours_status = "skipped (--no-ours)" if args.no_ours else engine_available(src)
    if aider_status:
        log(f"aider: {aider_status}")
    if ours_status:
        log(f"agentls: {ours_status}")
    if args.setup_only:
        for n in names:
            corpora.get(n)
        return 0

    started = time.time()
    head = git_head()
    results = [bench_corpus(n, args, aider_status, ours_status) for n in names]
    b4 = bench_didchange(ours_status)
    b4_code = bench_didchange(ours_status, "statement")
    md, summary = table(results, b4, b4_code)
    loads = f"{min(LOADS, default=0):.1f}-{max(LOADS, default=0):.1f}"
    md += f"\n\n(1-minute load average when each job started: {loads}; {os.cpu_count()} cores)"
    print(md)
    summary.update(
        {
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "seconds": time.time() - started,
            "git_head": head,
            "agentls_source": src_label,
            "load_1min": {"min": min(LOADS, default=0), "max": max(LOADS, default=0)},
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "aider": aider_versions() if not aider_status else {"status": aider_status},
            "table": md,
        }
    )
    text = json.dumps(summary, indent=1, default=str)
    if len(text.encode()) > RESULTS_MAX_BYTES:
        for c in summary["corpora"].values():
            for side in ("ours", "aider"):
                c[side].pop("per_task_found", None)
        text = json.dumps(summary, indent=1, default=str)
    dump = CACHE / "context-runs" / time.strftime("%Y%m%d-%H%M%S")
    dump.mkdir(parents=True, exist_ok=True)
    (dump / "summary.json").write_text(text)
    for cr in results:
        for side in ("ours", "aider"):
            outs = {f"{k[0]}@{k[1]}": v for k, v in cr[side].outputs.items()}
            (dump / f"{cr['corpus']}-{side}-contexts.json").write_text(json.dumps(outs))
    if len(text.encode()) <= RESULTS_MAX_BYTES:
        args.json.write_text(text + "\n")
        log(f"wrote {args.json} ({len(text) // 1024} KB); contexts in {dump.relative_to(REPO)}")
    else:
        log(f"results too big for {args.json}; all in {dump.relative_to(REPO)}")
    log(f"done in {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
