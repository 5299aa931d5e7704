"""Run the edit simulation from the command line.

    python -m tests.sim.run --seeds 1000000 [--editor nvim] [--scenario agent] [--jobs 2]
    python -m tests.sim.run --replay SEED --editor KIND [--scenario agent]  # one seed, its log

Scenarios: ``rewrite`` (a focused rewrite streaming into a region: world.py) and
``agent`` (the full agent's edits of an open buffer and their undo: agent_world.py).

Prints, per editor model, the seeds run, the failures (each with its seed), the
seeds where the editor itself garbled the text (Neovim 0.7's unchecked version-0
edits) and the seeds per second.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time

from tests.sim import agent_world, world
from tests.sim.editors import KINDS

SCENARIOS = {"rewrite": world.run_seed, "agent": agent_world.run_seed}


def run_range(
    kind: str, first: int, count: int, scenario: str = "rewrite"
) -> tuple[list[str], int]:
    failures, client_bugs = [], 0
    run_seed = SCENARIOS[scenario]
    for seed in range(first, first + count):
        outcome = run_seed(seed, kind)
        if outcome.problems:
            failures.append(outcome.explain())
        client_bugs += outcome.client_bug
    return failures, client_bugs


def run_many(
    kind: str, first: int, count: int, jobs: int, scenario: str = "rewrite"
) -> tuple[list[str], int]:
    if jobs <= 1:
        return run_range(kind, first, count, scenario)
    size = -(-count // jobs)
    parts = [
        (kind, start, min(size, first + count - start), scenario)
        for start in range(first, first + count, size)
    ]
    # Spawned workers, not forked: a fork of a process with threads (pytest's, asyncio's)
    # can deadlock in the child, and a pool's exit terminates its workers, so a timeout
    # in the parent ends the run instead of waiting forever.
    with multiprocessing.get_context("spawn").Pool(jobs) as pool:
        results = pool.starmap(run_range, parts)
    failures: list[str] = []
    bugs = 0
    for f, b in results:
        failures += f
        bugs += b
    return failures, bugs


def cores() -> int:
    """The cores this process may use (not the machine's: CI containers get a share)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count() or 1
    try:  # a cgroup v2 CPU quota ("max 100000" or "200000 100000")
        quota, period = open("/sys/fs/cgroup/cpu.max").read().split()
        if quota != "max":
            usable = min(usable, max(1, int(quota) // int(period)))
    except (OSError, ValueError):
        pass
    return max(1, min(usable, 8))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=10_000)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--editor", choices=KINDS)
    parser.add_argument("--jobs", type=int, default=cores())
    parser.add_argument("--replay", type=int)
    parser.add_argument("--scenario", choices=SCENARIOS)
    args = parser.parse_args()
    if args.replay is not None:
        outcome = SCENARIOS[args.scenario or "rewrite"](args.replay, args.editor or "nvim")
        print(outcome.explain() if outcome.problems else f"seed {args.replay}: no problem")
        return 1 if outcome.problems else 0
    print("| scenario | editor | seeds | failures | editor garbled (client bug) | seeds/s |")
    print("|---|---|---|---|---|---|")
    failed = False
    for scenario in [args.scenario] if args.scenario else list(SCENARIOS):
        for kind in [args.editor] if args.editor else KINDS:
            began = time.perf_counter()
            failures, bugs = run_many(kind, args.first, args.seeds, args.jobs, scenario)
            rate = args.seeds / (time.perf_counter() - began)
            print(
                f"| {scenario} | {kind} | {args.seeds} | {len(failures)} | {bugs} | {rate:.0f} |",
                flush=True,
            )
            for failure in failures[:5]:
                print(failure, file=sys.stderr)
            failed = failed or bool(failures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
