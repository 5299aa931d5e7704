"""The Markdown table of run.py's results: each metric, its value, target and verdict."""

from __future__ import annotations

from typing import Any

from benchmarks.common import CODE_ACTION_TARGET_MS, CPU_TARGET_MS, PHASES, STREAM_TARGET_MS
from benchmarks.trees import TREE_TARGET_MS


def verdict(ok: bool) -> str:
    return "pass" if ok else "**FAIL**"


def dist(d: dict[str, Any]) -> str:
    return f"p50 {d['p50']:.2f} / p99 {d['p99']:.2f} / max {d['max']:.1f} ms (n={d['count']})"


def code_action_rows(ca: dict[str, Any], tag: str, client: str) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    s = ca["summary"]
    for phase, label in PHASES.items():
        c = s[f"{phase}/codeAction"]
        rows.append(
            (
                f"{tag}. code action latency ({client}), {label}",
                dist(c),
                f"p99 <= {CODE_ACTION_TARGET_MS:g} ms",
                verdict(c["p99"] <= CODE_ACTION_TARGET_MS),
            )
        )
    for phase in ("idle", "streaming"):
        t = s[f"{phase}/trivial"]
        rows.append(
            (
                f"{tag}. trivial round trip (agentls.status, {client}), {PHASES[phase]}",
                dist(t),
                "reference",
                "",
            )
        )
    rows.append(
        (
            f"{tag}. code action server time (p50 minus trivial p50): idle; streaming",
            f"{s['idle/server_p50']:.2f} ms; {s['streaming/server_p50']:.2f} ms",
            "reference",
            "",
        )
    )
    errs = sum(r["errors"] for r in ca["runs"]) + sum(r["wrong_answers"] for r in ca["runs"])
    ok = all(r["status"] == ["done", "done"] and r["text_ok"] for r in ca["runs"])
    rows.append(
        (
            f"{tag}. code action errors + wrong answers; rewrites done and text right",
            f"{errs}; {'yes' if ok else 'NO'}",
            "0; yes",
            verdict(errs == 0 and ok),
        )
    )
    return rows


def report(results: dict[str, Any]) -> str:
    rows: list[tuple[str, ...]] = []
    if results.get("codeaction"):
        rows += code_action_rows(results["codeaction"], "1", "pytest-lsp client")
    if results.get("codeaction_lean"):
        rows += code_action_rows(results["codeaction_lean"], "1L", "lean client")
    st = results.get("streaming")
    if st:
        s = st["summary"]
        rows.append(
            (
                "2. SSE chunk -> applyEdit per line (warm tasks)",
                dist(s),
                f"p99 <= {STREAM_TARGET_MS:g} ms",
                verdict(s["p99"] <= STREAM_TARGET_MS),
            )
        )
        rows.append(
            (
                "2. same, the session's first task (cold); its first line",
                f"{dist(s['cold'])}; {s['cold_first_line_ms']:.1f} ms",
                "reference",
                "",
            )
        )
        rows.append(("2. lost lines", f"{s['lost']} of {s['lines']}", "0", verdict(s["lost"] == 0)))
        rows.append(
            (
                "2. reordered edits; edits refused as stale",
                f"{s['reordered']}; {s['not_applied']}",
                "0; 0",
                verdict(s["reordered"] == 0 and s["not_applied"] == 0),
            )
        )
        rows.append(
            (
                "2. document == expected after every rewrite",
                str(s["text_ok"]),
                "True",
                verdict(s["text_ok"]),
            )
        )
    cpu = results.get("cpu")
    if cpu:
        s = cpu["summary"]
        rows.append(
            (
                "3. server CPU per streamed token (warm task)",
                f"{s['ms_per_token']:.3f} ms ({s['tokens']:.0f} tokens, {s['edits']:.0f} edits, "
                f"{s['cpu_share'] * 100:.0f}% of a core)",
                f"<= {CPU_TARGET_MS:g} ms",
                verdict(s["ms_per_token"] <= CPU_TARGET_MS and s["text_ok"]),
            )
        )
        rows.append(
            (
                "3. model client alone (OpenAIChatModel, same 200 tokens/s), per chunk",
                f"{s['sdk_ms_per_chunk']:.3f} ms",
                "reference",
                "",
            )
        )
        rows.append(
            (
                "3. CPU of the session's first task (40 lines at full speed, cold)",
                f"{s['first_task_cpu_seconds']:.2f} s",
                "reference",
                "",
            )
        )
    trees = results.get("trees")
    if trees:
        for kind, r in trees.items():
            rows.append(
                (
                    f"4. didChange -> tree current, {kind} (store + trees + incremental reparse)",
                    dist(r["current"]),
                    f"p99 <= {TREE_TARGET_MS:g} ms",
                    verdict(r["current"]["p99"] <= TREE_TARGET_MS),
                )
            )
        r = trees["streamed lines"]
        rows.append(
            (
                "4. the didChange handler's store + trees work, streamed lines; first parse",
                f"p50 {r['change']['p50']:.2f} / p99 {r['change']['p99']:.2f} ms; "
                f"{r['first_parse_ms']:.0f} ms (in a thread, once per open)",
                "reference",
                "",
            )
        )
    out = ["| metric | value | target | result |", "|---|---|---|---|"]
    out += [f"| {m} | {v} | {t} | {r} |" for m, v, t, r in rows]
    return "\n".join(out)
