"""Context benchmark: agentls' context engine side by side with aider's RepoMap.

    .venv/bin/python benchmarks/context/run.py            # Django + CPython Lib/, ~11-15 min
    .venv/bin/python benchmarks/context/run.py --quick    # Django only, 12 tasks, ~2 min

Prints one Markdown table on stdout (progress on stderr) and writes the figures to
``benchmarks/context/results.json`` (when under 100 KB; the raw contexts of the run go
to ``benchmarks/.cache/context-runs/``). See ``benchmarks/context/README.md``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.context import corpora  # noqa: E402
from benchmarks.context.tasks import Task, Use, check_blanked, generate, is_test_path  # noqa: E402

CACHE = corpora.CACHE
AIDER_VENV = CACHE / "aider-venv"
AIDER_PY = AIDER_VENV / "bin" / "python"
# aider-chat pins its own dependencies; tree-sitter-language-pack 0.13.0 (what it pins)
# bundles its grammars: 1.x would download them at run time, which fails offline.
AIDER_REQUIREMENTS = [
    "aider-chat==0.86.2",
    "tree-sitter-language-pack==0.13.0",
    "bpe-openai==0.1.4",
]
OURS_PY = Path(sys.executable)
RESULTS = HERE / "results.json"
RESULTS_MAX_BYTES = 100_000
BUDGETS = (1024, 2048, 4096)
DET_BUDGET = 1024
ENGINE_SOURCE = REPO / "server" / "agentls" / "context" / "engine.py"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- the aider virtualenv -------------------------------------------------------------


def setup_aider(reinstall: bool = False) -> str | None:
    """Create/check the aider virtualenv; None if usable, else why not."""
    if reinstall and AIDER_VENV.exists():
        shutil.rmtree(AIDER_VENV)
    if not AIDER_PY.exists():
        log(f"creating {AIDER_VENV} with {' '.join(AIDER_REQUIREMENTS)}")
        base = getattr(sys, "_base_executable", None) or sys.executable
        try:
            subprocess.run([base, "-m", "venv", str(AIDER_VENV)], check=True)
            subprocess.run(
                [str(AIDER_PY), "-m", "pip", "install", "-q", *AIDER_REQUIREMENTS],
                check=True,
                stderr=subprocess.PIPE,
                text=True,
            )
        except subprocess.CalledProcessError as exc:
            err = [ln for ln in (exc.stderr or "").splitlines() if not ln.startswith("WARNING")]
            shutil.rmtree(AIDER_VENV, ignore_errors=True)  # try again next time
            return f"aider-chat could not be installed: {(err or [str(exc)])[-1][:200]}"
        except OSError as exc:
            shutil.rmtree(AIDER_VENV, ignore_errors=True)
            return f"aider-chat could not be installed: {exc}"
    smoke = (
        "from aider.repomap import RepoMap\n"
        "from grep_ast.tsl import get_parser\n"
        "import bpe_openai, importlib.metadata as m\n"
        "get_parser('python').parse(b'def f(): pass')\n"
        "bpe_openai.get_encoding('o200k_base').encode('x')\n"
        "print(m.version('aider-chat'), m.version('tree-sitter-language-pack'))\n"
    )
    try:
        r = subprocess.run(
            [str(AIDER_PY), "-c", smoke], capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"aider's virtualenv does not run: {exc}"
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["?"])[-1]
        return f"aider's RepoMap does not load offline: {last[:200]}"
    return None


def aider_versions() -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json\n"
        "print(json.dumps({p: m.version(p) for p in ('aider-chat', 'grep-ast', "
        "'tree-sitter', 'tree-sitter-language-pack', 'networkx', 'bpe-openai')}))"
    )
    r = subprocess.run([str(AIDER_PY), "-c", code], capture_output=True, text=True, check=False)
    try:
        return dict(json.loads(r.stdout))
    except ValueError:
        return {}


# -- subprocesses, wall time and peak memory of a process tree -------------------------


def _vm(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _tree_rss_kib(pid: int) -> int:
    total = 0
    stack = [pid]
    seen = set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    stack += [int(c) for c in f.read().split()]
        except (OSError, ValueError):
            continue
    return total


@dataclass
class Run:
    ok: bool
    wall: float
    peak_tree_rss_kib: int  # max over time of the sum of VmRSS of the process and its children
    # the worker process's own peak (VmHWM; not wait4's ru_maxrss, which also holds the
    # runner's size from before the exec)
    hwm_kib: int
    out: dict[str, Any] = field(default_factory=dict)
    error: str = ""


LOADS: list[float] = []  # 1-minute load average at the start of every job (others' work shows)


def run_worker(
    python: Path, script: str, job: dict[str, Any], tag: str, env: dict[str, str] | None = None
) -> Run:
    runs = CACHE / "context-runs" / "jobs"
    runs.mkdir(parents=True, exist_ok=True)
    job_path = runs / f"{tag}.job.json"
    out_path = runs / f"{tag}.out.json"
    err_path = runs / f"{tag}.stderr.txt"
    job_path.write_text(json.dumps(job))
    if out_path.exists():
        out_path.unlink()
    peak = 0
    hwm = 0
    LOADS.append(os.getloadavg()[0])
    t0 = time.perf_counter()
    with err_path.open("w") as err:
        proc = subprocess.Popen(
            [str(python), str(HERE / script), str(job_path), str(out_path)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            cwd=str(REPO),
            # a new hash seed per process, as a new editor session has (B7 relies on it)
            env={**os.environ, "PYTHONHASHSEED": "random", **(env or {})},
        )
        done = threading.Event()

        def sample() -> None:
            nonlocal peak, hwm
            while not done.is_set():
                peak = max(peak, _tree_rss_kib(proc.pid))
                hwm = max(hwm, _vm(proc.pid, "VmHWM:"))
                done.wait(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _pid, status, _usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
    try:
        out = json.loads(out_path.read_text())
    except (OSError, ValueError):
        out = {"ok": False, "error": f"no output (exit {proc.returncode})"}
    ok = proc.returncode == 0 and bool(out.get("ok"))
    error = ""
    if not ok:
        tail = [ln for ln in err_path.read_text(errors="replace").splitlines() if ln.strip()]
        error = str(out.get("error") or (tail[-1] if tail else f"exit {proc.returncode}"))[:300]
        log(f"{tag} failed: {error} (see {err_path.relative_to(REPO)})")
    return Run(ok, wall, peak, max(hwm, int(out.get("hwm_kib") or 0)), out, error)


# -- tasks ---------------------------------------------------------------------------


def load_tasks(corpus: corpora.Corpus, n: int, seed: int) -> tuple[list[Task], dict[str, int]]:
    path = CACHE / "tasks" / f"{corpus.root.name}-n{n}-s{seed}.json"
    if path.exists():
        data = json.loads(path.read_text())
        tasks = [Task(**{**t, "uses": [Use(**u) for u in t["uses"]]}) for t in data["tasks"]]
        return tasks, data["stats"]
    log(f"{corpus.name}: generating {n} tasks (ast over the corpus)")
    tasks, stats = generate(corpus, n, seed)
    for t in tasks:
        check_blanked(t)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"stats": stats, "tasks": [t.to_dict() for t in tasks]}))
    return tasks, stats


def request_of(task: Task) -> str:
    """The user's message in aider's chat (aider takes file and identifier mentions from it)."""
    return f"Implement {task.function}."


def job_tasks(tasks: list[Task], blank: bool = True) -> list[dict[str, Any]]:
    return [
        {
            "id": t.id,
            "path": t.path,
            "line": t.line,
            "column": t.column,
            "function": t.function,
            "request": request_of(t),
            **({"blanked": t.blanked} if blank else {}),
        }
        for t in tasks
    ]


# -- scoring -------------------------------------------------------------------------


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


# -- one corpus ----------------------------------------------------------------------


def ours_source(ref: str) -> tuple[Path, str]:
    """The agentls sources the workers import: a snapshot of commit ``ref`` or server/ as is.

    A snapshot (``git archive``) keeps the measured code fixed while someone edits the
    working tree during the run.
    """
    if ref == "worktree":
        return REPO / "server", "working tree"
    r = subprocess.run(
        ["git", "rev-parse", "--verify", f"{ref}^{{commit}}"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    sha = r.stdout.strip()
    dest = CACHE / "agentls-src" / sha[:12]
    if not (dest / ".complete").exists():
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "archive", sha, "server/agentls"], capture_output=True, cwd=REPO, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
        (dest / ".complete").write_text(sha + "\n")
    return dest / "server", sha


def engine_available(src: Path) -> str | None:
    if not (src / "agentls" / "context" / "engine.py").exists():
        return f"not available yet: {ENGINE_SOURCE.relative_to(REPO)} is missing"
    r = subprocess.run(
        [str(OURS_PY), "-c", "from agentls.context.engine import ContextEngine"],
        capture_output=True,
        text=True,
        cwd=str(REPO),
        env={**os.environ, "PYTHONPATH": str(src)},
        check=False,
    )
    if r.returncode != 0:
        return "does not import: " + (r.stderr.strip().splitlines() or ["?"])[-1][:200]
    return None


def bench_corpus(
    name: str, args: argparse.Namespace, aider_status: str | None, ours_status: str | None
) -> dict[str, Any]:
    corpus = corpora.get(name)
    tasks, task_stats = load_tasks(corpus, args.tasks, args.seed)
    files = [str(p.relative_to(corpus.root)) for p in corpora.all_files(corpus.root)]
    log(f"{name}: {len(files)} files, {len(tasks)} tasks ({task_stats})")
    det_tasks = tasks[:: max(1, len(tasks) // args.det_tasks)][: args.det_tasks]
    ours = SideResult(status=ours_status or "ok")
    aider = SideResult(status=aider_status or "ok")
    ours_cache = CACHE / "agentls-index" / corpus.root.name
    work = CACHE / "aider-work" / corpus.root.name
    base_job: dict[str, Any] = {"budgets": list(BUDGETS), "files": files}

    # B3: cold, each in a fresh process
    for i in range(args.cold_runs):
        if ours.status == "ok":
            log(f"{name}: B3 agentls cold index build, run {i + 1}")
            job = {
                **base_job,
                "mode": "cold",
                "root": str(corpus.root),
                "cache_dir": str(ours_cache),
            }
            run = run_worker(
                OURS_PY,
                "ours_worker.py",
                {**job, "tasks": job_tasks(tasks[:1])},
                f"{name}-ours-cold{i}",
            )
            ours.cold.append(run)
            if not run.ok:
                ours.status = f"failed: {run.error}"
        if aider.status == "ok":
            corpora.sync_copy(corpus.root, work)
            log(f"{name}: B3 aider cold repo map (tags cache removed), run {i + 1}")
            job = {**base_job, "mode": "cold", "root": str(work), "pristine": str(corpus.root)}
            run = run_worker(
                AIDER_PY,
                "aider_worker.py",
                {**job, "tasks": job_tasks(tasks[:1], blank=False)},
                f"{name}-aider-cold{i}",
            )
            aider.cold.append(run)
            if not run.ok:
                aider.status = f"failed: {run.error}"

    # B2 + B5: warm, every task at every budget, the blanked file as unsaved text / chat file
    if ours.status == "ok":
        log(f"{name}: B2/B5 agentls, {len(tasks)} tasks x {len(BUDGETS)} budgets")
        job = {**base_job, "mode": "tasks", "root": str(corpus.root), "cache_dir": str(ours_cache)}
        run = run_worker(
            OURS_PY, "ours_worker.py", {**job, "tasks": job_tasks(tasks)}, f"{name}-ours-tasks"
        )
        if run.ok:
            score(ours, tasks, run.out["results"], "ours")
            ours.extra["warm_reload_seconds"] = run.out.get("build_seconds")
            ours.extra["tasks_peak_tree_rss_kib"] = run.peak_tree_rss_kib
        else:
            ours.status = f"failed: {run.error}"
    if aider.status == "ok":
        corpora.sync_copy(corpus.root, work)
        log(f"{name}: B2/B5 aider, {len(tasks)} tasks x {len(BUDGETS)} budgets")
        job = {**base_job, "mode": "tasks", "root": str(work), "pristine": str(corpus.root)}
        run = run_worker(
            AIDER_PY, "aider_worker.py", {**job, "tasks": job_tasks(tasks)}, f"{name}-aider-tasks"
        )
        if run.ok:
            score(aider, tasks, run.out["results"], "aider")
            aider.extra["tasks_peak_tree_rss_kib"] = run.peak_tree_rss_kib
        else:
            aider.status = f"failed: {run.error}"

    # B7: the same selections in fresh processes, compared byte for byte with the B5 run
    for side, py, script, root in (
        (ours, OURS_PY, "ours_worker.py", corpus.root),
        (aider, AIDER_PY, "aider_worker.py", work),
    ):
        if side.status != "ok" or not det_tasks:
            continue
        label = "ours" if side is ours else "aider"
        same = [0] * len(det_tasks)
        for i in range(args.det_runs - 1):
            log(f"{name}: B7 {label} determinism, fresh process {i + 2} of {args.det_runs}")
            if side is aider:
                corpora.sync_copy(corpus.root, work)
            job = {
                **base_job,
                "budgets": [DET_BUDGET],
                "mode": "tasks",
                "root": str(root),
                "pristine": str(corpus.root),
                "cache_dir": str(ours_cache),
                "tasks": job_tasks(det_tasks),
            }
            run = run_worker(py, script, job, f"{name}-{label}-det{i}")
            if not run.ok:
                side.determinism["error"] = run.error
                break
            again = {r["id"]: r["text"] for r in run.out["results"]}
            for k, t in enumerate(det_tasks):
                same[k] += again.get(t.id) == side.outputs.get((t.id, DET_BUDGET))
        if "error" not in side.determinism:
            identical = sum(1 for s in same if s == args.det_runs - 1)
            side.determinism.update(
                {"tasks": len(det_tasks), "runs": args.det_runs, "identical": identical}
            )

    return {
        "corpus": name,
        "version": corpus.version,
        "files": len(files),
        "task_stats": task_stats,
        "ours": ours,
        "aider": aider,
    }


def bench_didchange(ours_status: str | None, typing: str = "comment") -> dict[str, Any]:
    """B4: typing " # word" at the end of 30 lines ("comment", 300 keystrokes) or
    ``x = 1`` on a new line of 50 function bodies ("statement", 300 changes)."""
    if ours_status:
        return {"status": ours_status}
    log(f"B4 agentls didChange on a 10k-line file (300 keystrokes, typing a {typing})")
    job = {
        "mode": "didchange",
        "workspace": str(CACHE / "didchange-ws"),
        "cache_dir": str(CACHE / "agentls-index" / "didchange-ws"),
        "lines": 10_000,
        "places": 30 if typing == "comment" else 50,
        "per_place": 10,
        "typing": typing,
    }
    run = run_worker(OURS_PY, "ours_worker.py", job, f"didchange-{typing}")
    if not run.ok:
        return {"status": f"failed: {run.error}"}
    out: dict[str, Any] = {
        "status": "ok",
        "missing": run.out.get("missing"),
        "index_api": run.out.get("index_api"),
        "engine_trees": run.out.get("engine_trees"),
        "incremental_changes": run.out.get("incremental_changes"),
        "n": len(run.out["seconds"]),
        "lines": run.out.get("lines"),
        "reparses": run.out.get("reparses"),
    }
    for part in ("seconds", "store", "tree", "index"):
        secs = run.out[part]
        key = "total" if part == "seconds" else part
        out[key] = {
            "p50_ms": pct(secs, 0.5) * 1000,
            "p99_ms": pct(secs, 0.99) * 1000,
            "max_ms": max(secs) * 1000,
        }
    return out


# -- the table -----------------------------------------------------------------------


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
    for label, b in (
        ("B4 didChange -> tree and index current: p99 | 10k-line file, typing a comment", b4),
        ("B4 didChange -> tree and index current: p99 | 10k-line file, typing `x = 1`", b4_code),
    ):
        if b.get("status") == "ok":
            t = b["total"]
            parts = "; ".join(f"{k} {b[k]['p99_ms']:.2f}" for k in ("store", "tree", "index"))
            note = f"; {b['missing']}" if b.get("missing") else ""
            rows.append(
                f"| {label} | – | {t['p99_ms']:.2f} ms (p50 {t['p50_ms']:.2f}; p99 of {parts}"
                f"{note}) | | <= 5 ms |"
            )
        else:
            rows.append(f"| {label} | – | n/a ({b.get('status')}) | | <= 5 ms |")
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


def git_head() -> str:
    r = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=REPO, check=False
    )
    return r.stdout.strip()


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--quick", action="store_true", help="Django only, 12 tasks, 2 processes for B7"
    )
    ap.add_argument(
        "--corpora", default=None, help="comma-separated: django,cpython,flask,requests"
    )
    ap.add_argument(
        "--tasks", type=int, default=None, help="B5 tasks per corpus (default 50, quick 12)"
    )
    ap.add_argument(
        "--det-tasks", type=int, default=None, help="B7 tasks per corpus (default 5, quick 3)"
    )
    ap.add_argument(
        "--det-runs", type=int, default=3, help="B7 processes (the B5 run is the first)"
    )
    ap.add_argument(
        "--cold-runs", type=int, default=None, help="B3 runs per side and corpus (2, quick 1)"
    )
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--no-aider", action="store_true", help="agentls only")
    ap.add_argument("--no-ours", action="store_true", help="aider only")
    ap.add_argument(
        "--only-b4",
        action="store_true",
        help="B4 (didChange) only: no corpora; results in .cache/context-b4.json",
    )
    ap.add_argument("--reinstall-aider", action="store_true")
    ap.add_argument("--setup-only", action="store_true", help="fetch corpora, make the aider venv")
    ap.add_argument(
        "--ours-src",
        default="HEAD",
        help="agentls sources: a git commit (snapshot, default HEAD) or 'worktree' (server/ as is)",
    )
    ap.add_argument(
        "--json",
        type=Path,
        default=None,
        help="results file (default benchmarks/context/results.json; --quick: in .cache)",
    )
    args = ap.parse_args()
    names = (args.corpora or ("django" if args.quick else "django,cpython")).split(",")
    args.tasks = args.tasks or (12 if args.quick else 50)
    args.cold_runs = args.cold_runs or (1 if args.quick else 2)
    if args.only_b4:
        names = []
    if args.json is None:
        args.json = (
            CACHE / "context-b4.json"
            if args.only_b4
            else CACHE / "context-quick.json"
            if args.quick
            else RESULTS
        )
    args.det_tasks = args.det_tasks or (3 if args.quick else 5)
    if args.quick and args.det_runs == 3:
        args.det_runs = 2

    aider_status = (
        "skipped (--no-aider)"
        if args.no_aider or args.only_b4
        else setup_aider(args.reinstall_aider)
    )
    try:
        src, src_label = ours_source(args.ours_src)
    except (OSError, subprocess.CalledProcessError) as exc:
        log(f"no snapshot of {args.ours_src} ({exc}): measuring server/ as it is")
        src, src_label = REPO / "server", "working tree"
    os.environ["AGENTLS_BENCH_SRC"] = str(src)  # for the workers
    ours_status = "skipped (--no-ours)" if args.no_ours else engine_available(src)
    if aider_status:
        log(f"aider: {aider_status}")
    if ours_status:
        log(f"agentls: {ours_status}")
    if args.setup_only:
        for n in names:
            corpora.get(n)
        return 0

    started = time.time()
    head = git_head()
    results = [bench_corpus(n, args, aider_status, ours_status) for n in names]
    b4 = bench_didchange(ours_status)
    b4_code = bench_didchange(ours_status, "statement")
    md, summary = table(results, b4, b4_code)
    loads = f"{min(LOADS, default=0):.1f}-{max(LOADS, default=0):.1f}"
    md += f"\n\n(1-minute load average when each job started: {loads}; {os.cpu_count()} cores)"
    print(md)
    summary.update(
        {
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "seconds": time.time() - started,
            "git_head": head,
            "agentls_source": src_label,
            "load_1min": {"min": min(LOADS, default=0), "max": max(LOADS, default=0)},
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "aider": aider_versions() if not aider_status else {"status": aider_status},
            "table": md,
        }
    )
    text = json.dumps(summary, indent=1, default=str)
    if len(text.encode()) > RESULTS_MAX_BYTES:
        for c in summary["corpora"].values():
            for side in ("ours", "aider"):
                c[side].pop("per_task_found", None)
        text = json.dumps(summary, indent=1, default=str)
    dump = CACHE / "context-runs" / time.strftime("%Y%m%d-%H%M%S")
    dump.mkdir(parents=True, exist_ok=True)
    (dump / "summary.json").write_text(text)
    for cr in results:
        for side in ("ours", "aider"):
            outs = {f"{k[0]}@{k[1]}": v for k, v in cr[side].outputs.items()}
            (dump / f"{cr['corpus']}-{side}-contexts.json").write_text(json.dumps(outs))
    if len(text.encode()) <= RESULTS_MAX_BYTES:
        args.json.write_text(text + "\n")
        log(f"wrote {args.json} ({len(text) // 1024} KB); contexts in {dump.relative_to(REPO)}")
    else:
        log(f"results too big for {args.json}; all in {dump.relative_to(REPO)}")
    log(f"done in {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
