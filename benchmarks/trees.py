"""4. ``trees``: the syntax tree of a big document kept up to date under streamed and
typed edits (in this process)."""

from __future__ import annotations

import random
import time
from typing import Any

from benchmarks.common import URI, Config, collect_now, log
from benchmarks.harness import summary_ms
from benchmarks.workload import Workload, rewrite_of

TREE_TARGET_MS = 5.0


def streamed_edits(base: int, lines: list[str], new_lines: list[str]) -> list[Any]:
    """Each line of a function replaced by its rewrite, top to bottom."""
    from agentls.edits.text import TextChange

    out, at = [], base
    for old, new in zip(lines, new_lines, strict=True):
        out.append(TextChange(at, at + len(old), new))
        at += len(new) + 1
    return out


def typed_edits(base: int, lines: list[str], rng: random.Random) -> list[Any]:
    """Statements typed into a function key by key, at the end of some of its lines,
    with brackets and quotes paired (typing the closer steps over it)."""
    from agentls.edits.text import TextChange

    out: list[Any] = []
    statement = 'total_v2 = compute("数据 🚀", limit) + len(seen)'
    ends = [base + sum(len(ln) + 1 for ln in lines[:k]) + len(lines[k]) for k in range(len(lines))]
    inserted = 0  # characters typed so far (all at places before later line ends)
    for k in sorted(rng.sample(range(2, len(lines) - 1), 4)):
        cursor = ends[k] + inserted
        out.append(TextChange(cursor, cursor, "\n        "))
        cursor += 9
        inserted += 9
        after = ""  # the closers the editor put in ahead of the cursor
        for ch in statement:
            if after and ch == after[0]:  # typing the closer steps over it
                after = after[1:]
                cursor += 1
                continue
            pair = {"(": ")", '"': '"'}.get(ch, "")
            out.append(TextChange(cursor, cursor, ch + pair))
            after = pair + after
            cursor += 1
            inserted += 1 + len(pair)
    return out


def bench_trees(cfg: Config, workload: Workload) -> dict[str, Any]:
    """In this process, on the server's own classes: a DocumentStore with the server's
    DocumentTrees, fed the edits of streamed rewrites (each line of the target functions
    replaced in turn, 420 lines) and of typing (statements typed key by key into the
    same functions, brackets and quotes paired, some non-ASCII), and after each change
    the tree asked for (``get``): change + get = "didChange -> tree current". The
    server itself reparses lazily (on a task's start, or 0.3 s after the last change,
    in a thread): this is the worst case, a reparse after every change.
    """
    from agentls.context.trees import DocumentTrees
    from agentls.edits.documents import DocumentStore

    rng = random.Random(7)
    results: dict[str, Any] = {}
    for kind in ("streamed lines", "typing"):
        collect_now()
        store, trees = DocumentStore(), DocumentTrees(idle_reparse=None)
        store.listeners.append(trees)
        store.open(URI, 0, workload.text, "python")
        started = time.perf_counter()
        trees.get(store.snapshot(URI))
        first_parse = time.perf_counter() - started
        changes: list[float] = []
        current: list[float] = []
        steps = []
        # Bottom up: edits in one function leave the offsets of those above it alone.
        targets = [t for name, t in workload.targets.items() if name != "cpu_long"]
        for target in sorted(targets, key=lambda t: -t.first_line):
            base = workload.text.index(target.code)
            lines = target.code.rstrip("\n").split("\n")
            new_lines = rewrite_of(target).rstrip("\n").split("\n")
            steps += (
                streamed_edits(base, lines, new_lines)
                if kind == "streamed lines"
                else typed_edits(base, lines, rng)
            )
        for i, change in enumerate(steps):
            t0 = time.perf_counter()
            store.change(URI, i + 1, [change])
            t1 = time.perf_counter()
            parsed = trees.get(store.snapshot(URI))
            t2 = time.perf_counter()
            assert parsed is not None and parsed.seq == store.snapshot(URI).seq
            changes.append(t1 - t0)
            current.append(t2 - t0)
        results[kind] = {
            "change": summary_ms(changes),
            "current": summary_ms(current),
            "first_parse_ms": first_parse * 1e3,
        }
        trees.shutdown()
        log(
            f"  trees, {kind}: didChange (store + trees) p50 "
            f"{results[kind]['change']['p50']:.2f} ms; change + reparse p50 "
            f"{results[kind]['current']['p50']:.2f} / p99 {results[kind]['current']['p99']:.2f} ms"
        )
    return results
