"""Scoring: which definitions each side's context holds (B5 recall, context size) and
the selection times (B2), per side and corpus."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from typing import Any

from benchmarks.context.jobs import Run
from benchmarks.context.tasks import Task, Use, is_test_path


def aider_snippets(text: str) -> list[tuple[str, str]]:
    """(path, text) per file section of a repo map ("path:" then "│line"/"⋮" lines)."""
    out: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("│"):
            if out:
                out[-1][1].append(line[1:])
        elif line.startswith("⋮") or not line.strip():
            continue
        else:
            out.append((line[:-1] if line.endswith(":") else line, []))
    return [(p, "\n".join(lines)) for p, lines in out]


def ours_snippets(data: dict[str, Any]) -> list[tuple[str, str]]:
    return [(str(s["path"]), str(s["text"])) for s in data.get("snippets", [])]


def found(use: Use, snippets: list[tuple[str, str]]) -> bool:
    pat = re.compile(
        rf"^[ \t]*(?:async[ \t]+def|def|class)[ \t]+{re.escape(use.name)}\b", re.MULTILINE
    )
    return any(path == use.path and pat.search(text) for path, text in snippets)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


@dataclass
class SideResult:
    status: str = "not run"  # "ok" or why not
    cold: list[Run] = field(default_factory=list)
    select_seconds: list[float] = field(default_factory=list)  # B2, at DET_BUDGET
    recall: dict[int, dict[str, Any]] = field(default_factory=dict)
    determinism: dict[str, Any] = field(default_factory=dict)
    outputs: dict[tuple[str, int], str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def score(side: SideResult, tasks: list[Task], results: list[dict[str, Any]], kind: str) -> None:
    by_key = {(r["id"], r["budget"]): r for r in results}
    for budget in sorted({r["budget"] for r in results}):
        per_task = []
        tokens = []
        for t in tasks:
            r = by_key.get((t.id, budget))
            if r is None:
                continue
            snips = aider_snippets(r["text"]) if kind == "aider" else ours_snippets(r["json"])
            hits = [found(u, snips) for u in t.uses]
            per_task.append((t, sum(hits), len(hits)))
            tokens.append(float(r.get("tokens") or 0))
            side.outputs[(t.id, budget)] = r["text"]
        n_found = sum(f for _t, f, _n in per_task)
        n_all = sum(n for _t, _f, n in per_task)
        split = {}
        for label, want in (("tests", True), ("library", False)):
            sub = [(f, n) for t, f, n in per_task if is_test_path(t.path) == want]
            split[label] = sum(f for f, _ in sub) / max(1, sum(n for _, n in sub))
        side.recall[budget] = {
            "recall": n_found / n_all if n_all else float("nan"),
            "found": n_found,
            "uses": n_all,
            "tasks": len(per_task),
            "task_mean": statistics.fmean(f / n for _t, f, n in per_task) if per_task else 0.0,
            "tokens_mean": statistics.fmean(tokens) if tokens else 0.0,
            "tokens_max": max(tokens) if tokens else 0.0,
            "over_budget": sum(1 for x in tokens if x > budget),
            **{f"recall_{k}": v for k, v in split.items()},
            "per_task": {t.id: f for t, f, _n in per_task},
        }
    side.select_seconds = [
        r["seconds"] for r in results if r["budget"] == min(r2["budget"] for r2 in results)
    ]
