"""The Markdown table of run.py (aider's RepoMap | agentls | ratio | target, per
benchmark and corpus) and the summary that goes to results.json."""

from __future__ import annotations

import statistics
from typing import Any

from benchmarks.context.common import BUDGETS
from benchmarks.context.scoring import SideResult, pct


def fmt_s(x: float | None) -> str:
    if x is None or x != x:
        return "–"
    if x < 1:
        return f"{x * 1000:.1f} ms"
    return f"{x:.2f} s"


def fmt_mib(kib: float | None) -> str:
    return "–" if not kib else f"{kib / 1024:.0f} MiB"


def ratio(a: float | None, b: float | None) -> str:
    if not a or not b or a != a or b != b:
        return "–"
    r = a / b
    return f"{r:.0f}x" if r >= 10 else f"{r:.1f}x"


def cell(side: SideResult, text: str) -> str:
    return text if side.status == "ok" else "n/a (see below)"


def table(
    corpus_results: list[dict[str, Any]], b4: dict[str, Any], b4_code: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    rows = [
        "| benchmark | corpus | aider RepoMap | agentls | ratio | target |",
        "|---|---|---|---|---|---|",
    ]
    summary: dict[str, Any] = {"corpora": {}}
    for cr in corpus_results:
        name = cr["corpus"]
        o: SideResult = cr["ours"]
        a: SideResult = cr["aider"]
        target_cold = {"django": "<= 3 s", "cpython": "<= 5 s"}.get(name, "")
        s: dict[str, Any] = {
            "version": cr["version"],
            "files": cr["files"],
            "task_stats": cr["task_stats"],
        }
        for label, side in (("ours", o), ("aider", a)):
            s[label] = {
                "status": side.status,
                "select_p50_s": pct(side.select_seconds, 0.5),
                "select_p95_s": pct(side.select_seconds, 0.95),
                "cold": [
                    {
                        "wall_s": r.wall,
                        "inner_s": (
                            r.out.get("build_seconds", 0) + r.out.get("first_select_seconds", 0)
                        )
                        if label == "ours"
                        else (r.out.get("results") or [{}])[0].get("seconds"),
                        "build_s": r.out.get("build_seconds"),
                        "peak_tree_rss_kib": r.peak_tree_rss_kib,
                        "hwm_kib": r.hwm_kib,
                        "build": r.out.get("build"),
                    }
                    for r in side.cold
                    if r.ok
                ],
                "recall": {
                    str(b): {k: v for k, v in rec.items() if k != "per_task"}
                    for b, rec in side.recall.items()
                },
                "per_task_found": {str(b): rec["per_task"] for b, rec in side.recall.items()},
                "determinism": side.determinism,
                **side.extra,
            }
        so, sa = s["ours"], s["aider"]

        def row(
            label: str,
            a_text: str,
            o_text: str,
            r: str = "",
            target: str = "",
            where: tuple[str, SideResult, SideResult] = (name, a, o),
        ) -> None:
            n, sa_, so_ = where
            rows.append(
                f"| {label} | {n} | {cell(sa_, a_text)} | {cell(so_, o_text)} | {r} | {target} |"
            )

        for q, target in (("p50", ""), ("p95", "<= 100 ms")):
            va, vo = sa[f"select_{q}_s"], so[f"select_{q}_s"]
            row(f"B2 selection, warm: {q}", fmt_s(va), fmt_s(vo), ratio(va, vo), target)

        def cold(side_s: dict[str, Any], key: str) -> float | None:
            vals = [c[key] for c in side_s["cold"] if c.get(key) is not None]
            return statistics.median(vals) if vals else None

        for key, label, target in (
            ("inner_s", "B3 cold index + first selection", target_cold),
            ("wall_s", "B3 same, whole process", ""),
        ):
            va, vo = cold(sa, key), cold(so, key)
            row(label, fmt_s(va), fmt_s(vo), ratio(va, vo), target)
        va, vo = cold(sa, "peak_tree_rss_kib"), cold(so, "peak_tree_rss_kib")
        row(
            "B3 cold: peak RSS (process tree)",
            fmt_mib(va),
            fmt_mib(vo),
            ratio(va, vo),
            "<= 300 MiB",
        )

        def rec(r: dict[str, Any] | None) -> str:
            return "–" if r is None else f"{r['recall']:.2f} ({r['found']}/{r['uses']})"

        for b in BUDGETS:
            ra, ro = a.recall.get(b), o.recall.get(b)
            rr = ratio(ro["recall"], ra["recall"]) if ra and ro else "–"
            row(f"B5 recall @ {b} tokens", rec(ra), rec(ro), rr, ">= 0.8" if b == 1024 else "")

        def tokens(side: SideResult) -> str:
            return " / ".join(
                f"{side.recall[b]['tokens_mean']:.0f}" for b in BUDGETS if b in side.recall
            )

        row("B5 context size, mean tokens (o200k)", tokens(a) or "–", tokens(o) or "–")

        def det(side: SideResult) -> str:
            d = side.determinism
            if "error" in d:
                return f"error: {d['error'][:60]}"
            if not d:
                return "–"
            return f"{d['identical']}/{d['tasks']} identical over {d['runs']} processes"

        row("B7 determinism", det(a), det(o), "", "100 %")
        summary["corpora"][name] = s
    for label, didchange in (
        ("B4 didChange -> tree and index current: p99 | 10k-line file, typing a comment", b4),
        ("B4 didChange -> tree and index current: p99 | 10k-line file, typing `x = 1`", b4_code),
    ):
        if didchange.get("status") == "ok":
            t = didchange["total"]
            parts = "; ".join(
                f"{k} {didchange[k]['p99_ms']:.2f}" for k in ("store", "tree", "index")
            )
            note = f"; {didchange['missing']}" if didchange.get("missing") else ""
            rows.append(
                f"| {label} | – | {t['p99_ms']:.2f} ms (p50 {t['p50_ms']:.2f}; p99 of {parts}"
                f"{note}) | | <= 5 ms |"
            )
        else:
            rows.append(f"| {label} | – | n/a ({didchange.get('status')}) | | <= 5 ms |")
    summary["b4"] = b4
    summary["b4_statement"] = b4_code
    notes = []
    for cr in corpus_results:
        for label, key in (("aider", "aider"), ("agentls", "ours")):
            side = cr[key]
            if side.status != "ok":
                notes.append(f"- {label} on {cr['corpus']}: {side.status}")
    if notes:
        rows += ["", *dict.fromkeys(notes)]
    return "\n".join(rows), summary
