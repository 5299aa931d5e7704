"""What the server process uses, read from /proc: RSS, open fds, threads, CPU time."""

from __future__ import annotations

import os
import statistics
from pathlib import Path
from typing import Any


def proc_sample(pid: int) -> dict[str, Any]:
    """RSS (MiB), threads and open fds of ``pid``, and the RSS of its child processes."""
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    rss = int(fields["VmRSS"].split()[0]) / 1024
    children = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                child_status = Path(f"/proc/{child}/status").read_text()
            except OSError:
                continue
            for line in child_status.splitlines():
                if line.startswith("VmRSS:"):
                    children += int(line.split()[1]) / 1024
    return {
        "rss_mib": round(rss, 2),
        "children_rss_mib": round(children, 2),
        "threads": int(fields["Threads"]),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "cpu_s": round(cpu_seconds(pid), 2),
    }


def cpu_seconds(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    parts = stat[stat.rindex(")") + 2 :].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def slope_per_10min(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MiB), in MiB per 10 minutes."""
    if len(points) < 2:
        return float("nan")
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 600 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0
