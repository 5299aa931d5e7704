"""agentls' context engine on a job of the context benchmark; runs in the project's .venv.

    .venv/bin/python benchmarks/context/ours_worker.py JOB.json OUT.json

The same job format and output as ``aider_worker.py``: ``cold`` (an empty index
folder, ``build()``, then the first selection), ``tasks`` (reload the index from its
folder, then every task at every budget, the blanked file given as the unsaved
buffer), and ``didchange`` (benchmark 4).
"""

from __future__ import annotations

import inspect
import json
import os
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
# the agentls sources to measure: a snapshot of a commit (see run.py --ours-src) or server/
SRC = Path(os.environ.get("AGENTLS_BENCH_SRC") or REPO / "server")
sys.path[:0] = [str(SRC), str(REPO)]


def _stats(stats: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in ("files", "definitions", "seconds"):
        v = getattr(stats, k, None)
        if isinstance(v, int | float):
            out[k] = v
    return out


def run_tasks(job: dict[str, Any], engine: Any) -> list[dict[str, Any]]:
    """Each task with its blanked file open in the "editor" (``open``), as a user's
    unsaved buffer is: the index then holds the blanked file's tags, not the disk's
    (whose real body would otherwise leak into the ranking). The timed ``select`` brings
    the buffer into the index first, as the first selection after an edit does."""
    results: list[dict[str, Any]] = []
    for task in job["tasks"]:
        blanked = task.get("blanked")
        if blanked is not None:
            engine.open(task["path"], 1, blanked)
        try:
            for budget in job["budgets"]:
                t0 = time.perf_counter()
                sel = engine.select(
                    task["path"], task["line"], task["column"], budget, text=blanked
                )
                seconds = time.perf_counter() - t0
                data = sel.to_json()
                results.append(
                    {
                        "id": task["id"],
                        "budget": budget,
                        "seconds": seconds,
                        "tokens": data.get("totalTokens"),
                        "json": data,
                        "text": json.dumps(data, ensure_ascii=False),
                    }
                )
        finally:
            if blanked is not None:
                engine.close(task["path"])  # back to the disk's text
    return results


# -- benchmark 4 ------------------------------------------------------------------------


def _line_end(text: str, line: int) -> int:
    """Code point offset of the end of ``line`` (0-based), before its newline."""
    pos = -1
    for _ in range(line + 1):
        pos = text.index("\n", pos + 1)
    return pos


def _statement_keystrokes(text: str, rng: random.Random) -> list[tuple[int, str]]:
    """Code typed in a function: after a random one-line simple statement of a function
    body, Enter (with the editor's auto-indent, one change) and then ``x = 1`` key by
    key. The text is broken in between (``x =``), as it is while one types code."""
    from agentls.context.languages import parser_for

    data = text.encode("utf-8", "surrogatepass")
    tree = parser_for("python").parse(data)
    rows: list[tuple[int, int]] = []  # (row, indentation) of candidate statements
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "block" and node.parent is not None:
            if node.parent.type == "function_definition":
                for child in node.named_children:
                    one_line = child.start_point.row == child.end_point.row
                    if one_line and child.type in ("expression_statement", "return_statement"):
                        rows.append((child.start_point.row, child.start_point.column))
        if node.child_count and node.type in (
            "module",
            "decorated_definition",
            "class_definition",
            "function_definition",
            "block",
        ):
            stack.extend(node.children)
    rows.sort()
    row, indent = rows[rng.randrange(len(rows))]
    end = _line_end(text, row)
    typed = ["\n" + " " * indent, *"x = 1"]
    out, at = [], end
    for piece in typed:
        out.append((at, piece))
        at += len(piece)
    return out


def run_didchange(job: dict[str, Any]) -> dict[str, Any]:
    """didChange -> tree and index current, per keystroke, on a 10k-line file.

    The server's own path: a ``DocumentStore`` feeding ``DocumentTrees`` and the engine
    (as ``lsp/workspace_context.py`` does). Per change: the store's ``change`` (what the
    event loop pays: listeners record the edit), the tree brought current
    (``DocumentTrees.get``: ``Tree.edit`` + incremental reparse) and the engine's index
    brought current for that buffer (``ContextEngine.refresh``, what ``select`` does
    first; ``_sync_buffers`` in commits before it). ``job["typing"]``: "comment" (" # word"
    at the end of random lines, the text stays valid) or "statement" (``x = 1`` on a new
    line of a function body, see ``_statement_keystrokes``).
    """
    from agentls.context.engine import ContextEngine
    from agentls.context.trees import DocumentTrees
    from agentls.edits.documents import DocumentStore, Snapshot
    from agentls.edits.text import TextChange
    from benchmarks.workload import build_workload

    ws = Path(job["workspace"])
    if ws.exists():
        shutil.rmtree(ws)
    ws.mkdir(parents=True)
    text = build_workload(job.get("lines", 10_000)).text
    path = ws / "big_module.py"
    path.write_text(text, encoding="utf-8")
    (ws / "helpers.py").write_text("def helper(x):\n    return x\n", encoding="utf-8")
    trees = DocumentTrees(idle_reparse=None)
    # wired as lsp/workspace_context.py does (each part only if this commit has it)
    params = inspect.signature(ContextEngine).parameters
    kw = {"trees": trees.current} if "trees" in params else {}
    engine = ContextEngine(ws, cache_dir=Path(job["cache_dir"]), **kw)
    engine.build()
    uri = path.as_uri()
    pass_changes = "changes" in inspect.signature(engine.change).parameters

    class Feed:  # lsp/workspace_context.py's listener, minus the server
        def opened(self, snap: Snapshot) -> None:
            engine.open(snap.uri, snap.version, snap.text)

        def changed(self, before: Snapshot, after: Snapshot, changes: Any) -> None:
            lines = [after.text.count("\n", 0, c.start) for c in changes[:3]]
            if pass_changes:
                engine.change(after.uri, after.version, after.text, lines, changes)
            else:
                engine.change(after.uri, after.version, after.text, lines)

        def closed(self, uri: str) -> None:
            engine.close(uri)

    store = DocumentStore()
    store.listeners += [trees, Feed()]
    store.open(uri, 1, text, "python")
    trees.get(store.snapshot(uri))  # the first parse (in a thread for a big file)
    out: dict[str, Any] = {"ok": True, "store": [], "tree": [], "index": [], "seconds": []}
    if callable(getattr(engine, "refresh", None)):
        out["index_api"] = "ContextEngine.refresh(uri)"

        def sync() -> None:
            engine.refresh(uri)
    elif callable(getattr(engine, "_sync_buffers", None)):
        out["index_api"] = "ContextEngine._sync_buffers() (no public refresh in this commit)"

        def sync() -> None:
            with engine.lock:
                engine._sync_buffers()
    else:
        out["missing"] = "no way to bring the index current: index time not measured"
        sync = None  # type: ignore[assignment]
    out["engine_trees"] = bool(kw)
    out["incremental_changes"] = pass_changes
    if sync is not None:
        sync()
    version = 1
    rng = random.Random(4)
    typing = job.get("typing", "comment")
    out["typing"] = typing
    for _place in range(job.get("places", 30)):
        current = store.snapshot(uri).text
        if typing == "statement":
            keystrokes = _statement_keystrokes(current, rng)
        else:
            # " # word" typed at the end of a random line: a comment, the file stays valid
            end = _line_end(current, rng.randrange(current.count("\n")))
            word = "".join(rng.choice("abcdefgh") for _ in range(job.get("per_place", 10) - 3))
            keystrokes = [(end + k, ch) for k, ch in enumerate(" # " + word)]
        for offset, piece in keystrokes:
            version += 1
            t0 = time.perf_counter()
            store.change(uri, version, [TextChange(offset, offset, piece)])
            t1 = time.perf_counter()
            parsed = trees.get(store.snapshot(uri))
            t2 = time.perf_counter()
            if sync is not None:
                sync()
            t3 = time.perf_counter()
            assert parsed is not None and parsed.version == version
            out["store"].append(t1 - t0)
            out["tree"].append(t2 - t1)
            out["index"].append(t3 - t2)
            out["seconds"].append(t3 - t0)
    out["reparses"] = trees.reparses
    out["lines"] = text.count("\n")
    trees.shutdown()
    return out


def hwm_kib() -> int:
    """This process's peak RSS (VmHWM; ru_maxrss would include the parent's size before exec)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main() -> int:
    job = json.loads(Path(sys.argv[1]).read_text())
    out_path = Path(sys.argv[2])
    import agentls

    result: dict[str, Any] = {"ok": True, "agentls_from": str(Path(agentls.__file__).parent)}
    if job["mode"] == "didchange":
        result.update(run_didchange(job))
    else:
        t_start = time.perf_counter()
        from agentls.context.engine import ContextEngine

        result["import_seconds"] = time.perf_counter() - t_start
        root = Path(job["root"])
        cache_dir = Path(job["cache_dir"])
        if job["mode"] == "cold" and cache_dir.exists():
            shutil.rmtree(cache_dir)
        t0 = time.perf_counter()
        engine = ContextEngine(root, cache_dir=cache_dir)
        stats = engine.build()
        result["build_seconds"] = time.perf_counter() - t0
        result["build"] = _stats(stats)
        if job["mode"] == "cold":
            job = {**job, "tasks": job["tasks"][:1], "budgets": job["budgets"][:1]}
        result["results"] = run_tasks(job, engine)
        if job["mode"] == "cold":
            result["first_select_seconds"] = result["results"][0]["seconds"]
    result["hwm_kib"] = hwm_kib()
    result["pid"] = os.getpid()
    out_path.write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:  # the runner reports it in the table
        import traceback

        traceback.print_exc()
        Path(sys.argv[2]).write_text(json.dumps({"ok": False, "error": repr(exc)}))
        sys.exit(1)
