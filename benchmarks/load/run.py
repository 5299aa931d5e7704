"""Load and soak: ``python benchmarks/load/run.py [--minutes N | --quick]`` (issue 5).

One real server (``python -m agentls`` over stdio), a raw JSON-RPC client that behaves
like an editor (``EditorClient``: versioned ``workspace/applyEdit`` applied to its own
buffers, stale edits refused like eglot, ``didChange`` sent at once, documents not open
loaded from disk and opened like VS Code, ``window/showMessageRequest`` answered), a
generated workspace of ~30 Python files and the scripted model server in its own
process (``model_proc.py``: real SSE at ``--tps`` tokens a second per stream).

A wave: 20 tasks at once on 20 different documents, a mix of streaming rewrites
(``agentls.run`` with a cursor in a function: the enclosing function is rewritten) and
full-agent tasks (``agentls.run`` without a range: read_file of a side file, then
edit_file of that side file and of the task's own document, each approved through
``window/showMessageRequest``, then finish), while the client types into the typing
documents and above the rewritten function of some of the rewrites' documents (the
region moves), and asks for code actions every ``--period-ms`` on random lines of the
open documents. After the wave: every task ``done``; every document's text equals the
expected text, computed independently (the original, the scripted replies and edits
applied with ``str.replace``, the typed text inserted); then some tasks are undone
(``agentls.undo``: the document must be back to its text before the task) and the
others accepted. Waves repeat for ``--minutes``; every ~10 s the server's RSS, open fds
and threads are sampled from ``/proc``.

Prints a Markdown table and writes ``benchmarks/.cache/load/results-<time>.json``
(and ``latest.json``). This file starts the model and the server and runs the waves;
the workspace, the client, the waves (``Run``), the /proc samples and the report are
modules of their own beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lsprotocol.converters import get_converter  # noqa: E402
from pytest_lsp import client_capabilities  # noqa: E402

from benchmarks.load.common import CACHE, log  # noqa: E402
from benchmarks.load.editor_client import EditorClient  # noqa: E402
from benchmarks.load.report import report, table  # noqa: E402
from benchmarks.load.server_process import cpu_seconds, proc_sample  # noqa: E402
from benchmarks.load.waves import Run  # noqa: E402
from benchmarks.load.workspace import make_workspace  # noqa: E402


async def snapshot(pid: int) -> None:
    """A tracemalloc snapshot of the server (``traced_server.py``), after a collection
    has had time to run."""
    await asyncio.sleep(2.0)
    os.kill(pid, signal.SIGUSR1)
    await asyncio.sleep(5.0)


async def start_model(tps: float) -> tuple[asyncio.subprocess.Process, str]:
    model = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__).with_name("model_proc.py")),
        str(tps),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert model.stdout is not None
    line = (await model.stdout.readline()).decode().split()
    if not line or line[0] != "ready":
        raise RuntimeError(f"model process: {line}")
    return model, line[1]


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    CACHE.mkdir(parents=True, exist_ok=True)
    ws = make_workspace(CACHE / "ws", args.docs, args.sides, args.typing_docs)
    model, base_url = await start_model(args.tps)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTLS_"))}
    env["AGENTLS_CACHE_DIR"] = str(CACHE / "index")
    shutil.rmtree(CACHE / "index", ignore_errors=True)
    stderr = (CACHE / "server-stderr.log").open("wb")
    command = args.server_cmd.split()
    patches = ["pygls", "slices"] if args.patched else []
    if args.patched:
        command = [sys.executable, str(Path(__file__).with_name("patched_server.py")), *patches]
    if args.trace is not None:
        traced = str(Path(__file__).with_name("traced_server.py"))
        command = [sys.executable, traced, args.trace, *patches]
    proc = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=stderr,
        env=env,
        limit=2**24,
    )
    client = EditorClient(proc)
    caps = get_converter().unstructure(client_capabilities("visual-studio-code"))
    options = {
        "model": {"baseUrl": base_url, "name": "scripted-model", "maxRetries": 2, "timeout": 30},
        "agent": {"approval": "ask"},
    }
    await client.request(
        "initialize",
        {
            "processId": os.getpid(),
            "rootUri": ws.root.as_uri(),
            "workspaceFolders": [{"uri": ws.root.as_uri(), "name": "load"}],
            "capabilities": caps,
            "initializationOptions": options,
        },
    )
    client.notify("initialized", {})
    for uri in [*ws.task_docs[: args.tasks], *ws.typing_docs]:
        client.open(uri, ws.texts[uri])
    await client.command("agentls.status")
    run = Run(args, ws, client, proc.pid, model, truth=dict(ws.texts))
    calm = time.perf_counter()
    last = cpu_seconds(proc.pid)
    while time.perf_counter() - calm < 20:  # until the index is built and the server idle
        await asyncio.sleep(0.5)
        now = cpu_seconds(proc.pid)
        if now - last < 0.02:
            break
        last = now
    gc.collect()
    gc.freeze()
    run.started = time.perf_counter()
    stop = asyncio.Event()
    background = [
        asyncio.ensure_future(run.sampler(stop)),
        asyncio.ensure_future(run.typing(stop)),
        asyncio.ensure_future(run.code_actions(stop)),
    ]
    deadline = run.started + args.minutes * 60
    wave = 0
    log(f"server pid {proc.pid}, {len(ws.texts)} files, {args.minutes} min")
    while time.perf_counter() < deadline and (args.waves is None or wave < args.waves):
        record = await run.wave(wave)
        sample = proc_sample(proc.pid)
        log(
            f"wave {wave}: {record['seconds']} s, failed {record['failed']}, "
            f"mismatched {record['mismatched']}, undone {record['undone']}, "
            f"RSS {sample['rss_mib']:.1f} MiB, fds {sample['fds']}, threads {sample['threads']}"
        )
        wave += 1
        if args.trace is not None and wave == 2:  # start tracing
            os.kill(proc.pid, signal.SIGUSR1)
        if any(w["failed"] or w["mismatched"] for w in run.waves[-1:]):
            log("stopping: a wave failed (see the failures below)")
            break
        await asyncio.sleep(args.pause)
    stop.set()
    await asyncio.gather(*background)
    final = proc_sample(proc.pid)
    final["t"] = round(time.perf_counter() - run.started, 2)
    final["wave"] = len(run.waves)
    run.samples.append(final)
    status = await client.command("agentls.status")
    if args.trace is not None:
        await snapshot(proc.pid)
    await asyncio.sleep(0.5)
    assert model.stdin is not None and model.stdout is not None
    model.stdin.close()
    rest = (await model.stdout.read()).decode().splitlines()
    run.anomalies += [json.loads(s[8:]) for s in rest if s.startswith("anomaly ")]
    await model.wait()
    await client.request("shutdown", None)
    client.notify("exit", None)
    try:
        await asyncio.wait_for(proc.wait(), 10)
    except TimeoutError:
        proc.kill()
    stderr.close()
    return report(run, status)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="soak length")
    parser.add_argument("--quick", action="store_true", help="about one minute")
    parser.add_argument("--waves", type=int, default=None, help="stop after N waves")
    parser.add_argument("--tasks", type=int, default=20, help="tasks per wave (<= --docs)")
    parser.add_argument("--docs", type=int, default=20, help="task documents")
    parser.add_argument("--agents", type=int, default=6, help="full-agent tasks per wave")
    parser.add_argument("--sides", type=int, default=6, help="side files (>= --agents)")
    parser.add_argument("--typing-docs", type=int, default=2)
    parser.add_argument("--tps", type=float, default=100.0, help="tokens/s per stream")
    parser.add_argument("--type-ms", type=float, default=40.0, help="between keystrokes")
    parser.add_argument("--period-ms", type=float, default=10.0, help="between code actions")
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between waves")
    parser.add_argument("--server-cmd", default=f"{sys.executable} -m agentls")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--patched",
        action="store_true",
        help="the server with the two leaks found here patched at run time "
        "(patched_server.py: pygls's notification futures, tree-sitter's read callback)",
    )
    parser.add_argument(
        "--trace",
        default=None,
        metavar="DIR",
        help="run the server with tracemalloc (traced_server.py) from wave 2 on, a snapshot "
        "in DIR at the end: see compare_snapshots.py",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.minutes = 1.0
    args.tasks = min(args.tasks, args.docs)
    args.agents = min(args.agents, args.sides, args.tasks)
    return args


def main() -> None:
    args = parse_args()
    result = asyncio.run(main_async(args))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = args.json or CACHE / f"results-{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    for failure in result["failures"][:10]:
        log(f"failure: {failure}")
    for anomaly in result["anomalies"][:5]:
        log(f"anomaly: {anomaly}")
    print(table(result), flush=True)
    text = json.dumps(result, indent=1, default=str)
    path.write_text(text)
    (CACHE / "latest.json").write_text(text)
    log(f"results: {path}")


if __name__ == "__main__":
    main()
