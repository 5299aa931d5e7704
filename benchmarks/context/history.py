"""History benchmark: recall of the definitions real commits used (issue 14, point 1).

    .venv/bin/python benchmarks/context/history.py                  # every repository
    .venv/bin/python benchmarks/context/history.py --repos psf/requests --no-aider

Tasks come from public repositories' own git history (``history_tasks.py``): commits
that change one function body in one non-test source file; gold = the other files'
definitions the added lines use. Each task runs on the parent tree at the changed
function, at 1,024 / 2,048 / 4,096 tokens, for agentls, aider's repo map and an
imports-only baseline. Prints one Markdown table; see ``benchmarks/context/README.md``.
No network: the repositories are bare git directories fetched beforehand.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
for p in (str(REPO), str(REPO / "server")):
    if p not in sys.path:
        sys.path.insert(0, p)

from benchmarks.context import history_lang as hl  # noqa: E402
from benchmarks.context import history_tasks as ht  # noqa: E402
from benchmarks.context.common import AIDER_PY  # noqa: E402
from benchmarks.context.history_resolve import TreeView  # noqa: E402
from benchmarks.context.scoring import aider_snippets  # noqa: E402
from benchmarks.context.sides import ours_source, setup_aider  # noqa: E402

CACHE = REPO / "benchmarks" / ".cache" / "history"
MIRRORS = Path("/work/.mirror")
BUDGETS = (1024, 2048, 4096)
RESULTS = HERE / "history-results.json"


@dataclass(frozen=True)
class Repository:
    name: str  # owner/name on GitHub
    language: str
    held_out: bool  # decided before any score was seen: never tuned on


# Half held out, chosen by language before the first run (README, "History benchmark").
REPOSITORIES = (
    Repository("psf/requests", "Python", False),
    Repository("encode/httpx", "Python", False),
    Repository("pallets/flask", "Python", True),
    Repository("expressjs/express", "JavaScript", False),
    Repository("sindresorhus/ky", "TypeScript", True),
    Repository("go-chi/chi", "Go", False),
    Repository("spf13/cobra", "Go", True),
    Repository("gin-gonic/gin", "Go", True),
)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def gitdir_of(repo: Repository, mirrors: Path) -> Path | None:
    for cand in (mirrors / repo.name.replace("/", "+") / "repo", CACHE / "repos" / repo.name):
        if (cand / "HEAD").exists() or (cand / ".git" / "HEAD").exists():
            return cand
    return None


# -- sides ---------------------------------------------------------------------------


OURS_SRC: dict[str, str] = {}  # the agentls sources the worker imports (--ours-src)


def run_side(
    side: str, python: Path, repo: Repository, gitdir: Path, tasks: list[ht.Task]
) -> dict[str, Any]:
    slug = repo.name.replace("/", "+")
    # one work tree per side (and agentls source): runs of other sources can go alongside
    label = OURS_SRC.get("label", "") if side == "agentls" else ""
    base = CACHE / "work" / slug / (f"{side}-{label}" if label else side)
    jobs = CACHE / "jobs"
    jobs.mkdir(parents=True, exist_ok=True)
    job = {
        "side": side,
        "gitdir": str(gitdir),
        "work": str(base / "tree"),
        "index": str(base / "index"),
        "cache_dir": str(base / "agentls-index"),
        "budgets": list(BUDGETS),
        "tasks": [
            {
                "id": t.id,
                "parent": t.parent,
                "path": t.path,
                "line": t.line,
                "column": t.column,
                "request": f"Change {t.function}.",
            }
            for t in reversed(tasks)  # oldest first: the tree moves forward
        ],
    }
    tag = f"{slug}-{side}" + (f"-{label}" if label else "")
    job_path, out_path = jobs / f"{tag}.job.json", jobs / f"{tag}.out.json"
    err_path = jobs / f"{tag}.stderr.txt"
    job_path.write_text(json.dumps(job))
    t0 = time.perf_counter()
    with err_path.open("w") as err:
        proc = subprocess.run(
            [str(python), str(HERE / "history_worker.py"), str(job_path), str(out_path)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            cwd=str(REPO),
            env={
                **os.environ,
                **(
                    {"AGENTLS_BENCH_SRC": OURS_SRC["AGENTLS_BENCH_SRC"]}
                    if side == "agentls"
                    else {}
                ),
            },
            check=False,
        )
    try:
        out: dict[str, Any] = json.loads(out_path.read_text())
    except (OSError, ValueError):
        out = {"ok": False, "error": f"no output (exit {proc.returncode}), see {err_path}"}
    out["wall"] = time.perf_counter() - t0
    status = "done" if out.get("ok") else f"FAILED: {out.get('error')}"
    log(f"{repo.name}: {side} {status} in {out['wall']:.0f} s")
    return out


def imports_only(gitdir: Path, tasks: list[ht.Task]) -> list[dict[str, Any]]:
    """The baseline: the first line of each definition of the names the file imports
    (``TreeView.imported_definitions``), grouped by file, in import order, until the
    budget (o200k tokens, the counter agentls uses) is full."""
    from agentls.model.tokens import count_tokens

    blobs = ht.Blobs(gitdir)
    out: list[dict[str, Any]] = []
    try:
        for t in tasks:
            lang = hl.language_of(t.path)
            assert lang is not None
            files = ht.tree_files(gitdir, t.parent)
            view = TreeView(files, hl.FAMILY[lang], blobs.read, blobs.definitions)
            items = view.imported_definitions(t.path, view.data(t.path))
            for budget in BUDGETS:
                used, sections = 0, list[tuple[str, list[str]]]()
                for path, d in items:
                    header = [] if sections and sections[-1][0] == path else [f"{path}:"]
                    cost = sum(count_tokens(x + "\n") for x in [*header, d.first_line])
                    if used + cost > budget:
                        break
                    used += cost
                    if header:
                        sections.append((path, []))
                    sections[-1][1].append(d.first_line)
                snippets = [[p, "\n".join(lines)] for p, lines in sections]
                out.append({"id": t.id, "budget": budget, "tokens": used, "snippets": snippets})
    finally:
        blobs.close()
    return out


# -- scoring -------------------------------------------------------------------------


def found(gold: dict[str, str], snippets: list[list[str]]) -> bool:
    pat = re.compile(rf"\b{re.escape(gold['name'])}\b")
    return any(path == gold["path"] and pat.search(text) for path, text in snippets)


def recall(tasks: list[ht.Task], results: list[dict[str, Any]], budget: int) -> float | None:
    by_id = {r["id"]: r for r in results if r["budget"] == budget}
    hits = total = 0
    for t in tasks:
        r = by_id.get(t.id)
        if r is None:
            return None
        snippets = r.get("snippets")
        if snippets is None:
            snippets = [[p, s] for p, s in aider_snippets(r.get("text", ""))]
        hits += sum(found(g, snippets) for g in t.gold)
        total += len(t.gold)
    return hits / total if total else None


def fmt(values: list[float | None]) -> str:
    return " / ".join("–" if v is None else f"{v:.2f}" for v in values)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--repos", default="", help="comma-separated owner/name (default: all)")
    ap.add_argument("--tasks", type=int, default=ht.MAX_TASKS, help="tasks per repository")
    ap.add_argument("--mirrors", type=Path, default=MIRRORS, help="where the bare git dirs are")
    ap.add_argument("--no-aider", action="store_true")
    ap.add_argument("--no-ours", action="store_true")
    ap.add_argument("--det", action="store_true", help="run agentls twice: same bytes?")
    ap.add_argument("--json", type=Path, default=RESULTS)
    ap.add_argument(
        "--ours-src",
        default="HEAD",
        help="agentls sources measured: a commit (git archive) or 'worktree'",
    )
    args = ap.parse_args()
    src, sha = ours_source(args.ours_src)
    OURS_SRC["AGENTLS_BENCH_SRC"] = str(src)
    OURS_SRC["label"] = "worktree" if args.ours_src == "worktree" else sha[:12]
    log(f"agentls from {sha} ({src})")
    wanted = {r for r in args.repos.split(",") if r}
    repos = [r for r in REPOSITORIES if not wanted or r.name in wanted]
    aider_error = None if args.no_aider else setup_aider()
    if aider_error:
        log(f"aider: {aider_error}")
    rows: list[dict[str, Any]] = []
    for repo in repos:
        gitdir = gitdir_of(repo, args.mirrors)
        if gitdir is None:
            log(f"{repo.name}: no git directory under {args.mirrors} or {CACHE / 'repos'}: skipped")
            continue
        t0 = time.perf_counter()
        tasks = ht.extract(gitdir, repo.name, CACHE / "tasks", args.tasks)
        log(f"{repo.name}: {len(tasks)} tasks ({time.perf_counter() - t0:.0f} s)")
        if not tasks:
            continue
        outs: dict[str, dict[str, Any]] = {}

        def go(
            side: str,
            python: Path,
            key: str,
            repo: Repository = repo,
            gitdir: Path = gitdir,
            tasks: list[ht.Task] = tasks,
            outs: dict[str, dict[str, Any]] = outs,
        ) -> None:
            outs[key] = run_side(side, python, repo, gitdir, tasks)

        threads = []
        if not args.no_ours:
            threads.append(
                threading.Thread(target=go, args=("agentls", Path(sys.executable), "agentls"))
            )
        if not args.no_aider and not aider_error:
            threads.append(threading.Thread(target=go, args=("aider", AIDER_PY, "aider")))
        for th in threads:
            th.start()
        base = imports_only(gitdir, tasks)
        for th in threads:
            th.join()
        row: dict[str, Any] = {
            "repository": repo.name,
            "language": repo.language,
            "held_out": repo.held_out,
            "tasks": len(tasks),
            "gold": sum(len(t.gold) for t in tasks),
            "imports-only": [recall(tasks, base, b) for b in BUDGETS],
        }
        for key in ("aider", "agentls"):
            results = outs[key]["results"] if outs.get(key, {}).get("ok") else None
            row[key] = [recall(tasks, results, b) if results else None for b in BUDGETS]
        if args.det and outs.get("agentls", {}).get("ok"):
            again = run_side("agentls", Path(sys.executable), repo, gitdir, tasks)
            first = {(r["id"], r["budget"]): r["text"] for r in outs["agentls"]["results"]}
            second = {(r["id"], r["budget"]): r["text"] for r in again.get("results", [])}
            row["identical"] = f"{sum(first[k] == second.get(k) for k in first)}/{len(first)}"
        rows.append(row)
        log(f"{repo.name}: {row}")
    print_table(rows)
    args.json.write_text(json.dumps({"agentls": sha, "budgets": BUDGETS, "rows": rows}, indent=1))
    return 0


def print_table(rows: list[dict[str, Any]]) -> None:
    at = "@1k/2k/4k"
    print(
        f"| repository | language | set | tasks (gold) | aider {at} | imports-only {at} "
        f"| agentls {at} |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        split = "held-out" if r["held_out"] else "tuning"
        print(
            f"| {r['repository']} | {r['language']} | {split} | {r['tasks']} ({r['gold']}) "
            f"| {fmt(r['aider'])} | {fmt(r['imports-only'])} | {fmt(r['agentls'])} |"
        )
    for held in (False, True):
        part = [r for r in rows if r["held_out"] == held]
        if not part:
            continue

        def macro(key: str, i: int, part: list[dict[str, Any]] = part) -> float | None:
            values: list[float | None] = [r[key][i] for r in part]
            known = [v for v in values if v is not None]
            return sum(known) / len(known) if len(known) == len(values) else None

        cells = [
            fmt([macro(k, i) for i in range(len(BUDGETS))])
            for k in ("aider", "imports-only", "agentls")
        ]
        name = "held-out" if held else "tuning"
        print(f"| **macro, {name}** | | {name} | {len(part)} repos | {' | '.join(cells)} |")
    same = [r["identical"] for r in rows if "identical" in r]
    if same:
        hits = sum(int(x.split("/")[0]) for x in same)
        total = sum(int(x.split("/")[1]) for x in same)
        print(f"\nagentls, a second process (--det): {hits}/{total} selections byte-identical")


if __name__ == "__main__":
    sys.exit(main())
