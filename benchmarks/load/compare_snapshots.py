"""``python benchmarks/load/compare_snapshots.py DIR [N]``: the top N allocation sites
(by traceback) of the last tracemalloc snapshot of ``run.py --trace DIR``: memory
allocated after tracing started (after wave 2) and still alive at the end."""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path


def main() -> None:
    folder = Path(sys.argv[1])
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    paths = sorted(folder.glob("snapshot-*.pickle"), key=lambda p: int(p.stem.split("-")[1]))
    snapshot = tracemalloc.Snapshot.load(str(paths[-1]))
    stats = snapshot.statistics("traceback")
    total = sum(s.size for s in stats)
    print(f"alive at the end, allocated since tracing started: {total / 2**20:.2f} MiB")
    for stat in stats[:top]:
        print(f"\n{stat.size / 1024:.1f} KiB, {stat.count} blocks")
        for line in stat.traceback.format()[-10:]:
            print(line)


if __name__ == "__main__":
    main()
