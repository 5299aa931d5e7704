"""The results of a load run: the summary (``report``) and its Markdown table."""

from __future__ import annotations

import datetime
import os
import platform
from pathlib import Path
from typing import Any

from benchmarks.load.common import percentile
from benchmarks.load.server_process import slope_per_10min
from benchmarks.load.waves import Run


def cpu_rate(samples: list[dict[str, Any]]) -> float:
    """The server's CPU over ``samples``, in % of one core."""
    if len(samples) < 2 or samples[-1]["t"] <= samples[0]["t"]:
        return float("nan")
    used = samples[-1]["cpu_s"] - samples[0]["cpu_s"]
    return round(100 * used / (samples[-1]["t"] - samples[0]["t"]), 1)


def report(run: Run, status: Any) -> dict[str, Any]:
    samples = run.samples
    first_end = next((s for s in samples if s["wave"] >= 1), samples[-1])
    after = [(s["t"], s["rss_mib"]) for s in samples if s["wave"] >= 1]
    refused = run.client.stats.refused
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "load_average": os.getloadavg(),
        "options": {k: v for k, v in vars(run.args).items()},
        "waves": len(run.waves),
        "tasks": sum(w["tasks"] for w in run.waves),
        "agent_tasks": sum(w["agents"] for w in run.waves),
        "failed_tasks": sum(w["failed"] for w in run.waves),
        "mismatched_documents": sum(w["mismatched"] for w in run.waves),
        "undone": sum(w["undone"] for w in run.waves),
        "undo_failed": sum(w["undo_failed"] for w in run.waves),
        "applied_edits": run.client.stats.applied,
        "refused_edits": sum(refused.values()),
        "refused_by_document": {Path(u).name: n for u, n in refused.items()},
        "approvals_asked": run.client.stats.asked,
        "keystrokes": run.keystrokes,
        "opened_by_edit": len(run.client.stats.opened_by_edit),
        "anomalies": run.anomalies,
        "code_actions": len(run.latencies),
        "code_action_p50_ms": round(percentile(run.latencies, 50) * 1000, 2),
        "code_action_p99_ms": round(percentile(run.latencies, 99) * 1000, 2),
        "code_action_max_ms": round(max(run.latencies, default=0) * 1000, 2),
        "code_action_errors": run.ca_errors,
        "code_action_wrong": run.ca_wrong,
        "wave_seconds_p50": percentile([w["seconds"] for w in run.waves], 50),
        "wave_seconds_max": max((w["seconds"] for w in run.waves), default=0),
        "rss_start_mib": samples[0]["rss_mib"],
        "rss_after_first_wave_mib": first_end["rss_mib"],
        "rss_end_mib": samples[-1]["rss_mib"],
        "rss_slope_mib_per_10min": round(slope_per_10min(after), 2),
        "children_rss_end_mib": samples[-1]["children_rss_mib"],
        "cpu_percent_first_minute": cpu_rate(samples[:7]),
        "cpu_percent_last_minute": cpu_rate(samples[-7:]),
        "fds_start": samples[0]["fds"],
        "fds_end": samples[-1]["fds"],
        "threads_start": samples[0]["threads"],
        "threads_end": samples[-1]["threads"],
        "server_status_end": {
            "running": len((status or {}).get("running") or []),
            "recent": len((status or {}).get("recent") or []),
        },
        "failures": run.failures[:50],
        "messages": run.client.stats.messages[:20],
        "samples": samples,
        "wave_records": run.waves,
    }


def table(r: dict[str, Any]) -> str:
    rows = [
        ("waves / tasks (full-agent)", f"{r['waves']} / {r['tasks']} ({r['agent_tasks']})"),
        ("tasks not done", f"{r['failed_tasks']}"),
        ("documents not as expected (lost or misplaced edits)", f"{r['mismatched_documents']}"),
        ("undo: done / refused", f"{r['undone']} / {r['undo_failed']}"),
        (
            "edits applied / refused as stale",
            f"{r['applied_edits']} / {r['refused_edits']}",
        ),
        ("model requests not routed (anomalies)", f"{len(r['anomalies'])}"),
        (
            "keystrokes typed during waves / approvals answered",
            f"{r['keystrokes']} / {r['approvals_asked']}",
        ),
        (
            "code action during waves: p50 / p99 / max",
            f"{r['code_action_p50_ms']} / {r['code_action_p99_ms']} / "
            f"{r['code_action_max_ms']} ms ({r['code_actions']} requests)",
        ),
        (
            "code action errors / wrong answers",
            f"{r['code_action_errors']} / {r['code_action_wrong']}",
        ),
        (
            "wave duration: p50 / max",
            f"{r['wave_seconds_p50']:.1f} / {r['wave_seconds_max']:.1f} s",
        ),
        (
            "server RSS: start / after wave 1 / end",
            f"{r['rss_start_mib']:.1f} / {r['rss_after_first_wave_mib']:.1f} / "
            f"{r['rss_end_mib']:.1f} MiB",
        ),
        ("server RSS slope after wave 1", f"{r['rss_slope_mib_per_10min']:+.2f} MiB / 10 min"),
        (
            "server CPU: first / last minute",
            f"{r['cpu_percent_first_minute']} / {r['cpu_percent_last_minute']} % of a core",
        ),
        ("open fds: start / end", f"{r['fds_start']} / {r['fds_end']}"),
        ("threads: start / end", f"{r['threads_start']} / {r['threads_end']}"),
    ]
    out = ["| metric | value |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(out)
