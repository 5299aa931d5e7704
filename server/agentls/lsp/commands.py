"""The ``agentls.*`` commands of the public contract (arguments: one JSON object)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from agentls.agent.loop import UNPRICED
from agentls.agent.rewrite import Rewrite, RewriteRequest
from agentls.agent.tasks import Task, TaskResult
from agentls.edits.documents import DocumentClosed, EditorError, Snapshot
from agentls.edits.positions import Span, StalePosition
from agentls.edits.region import RegionConflict
from agentls.lsp.agent_run import AgentRequest, AgentRun
from agentls.lsp.arguments import BadArguments, ContextArgs, NoArgs, RunArgs, TaskArgs
from agentls.lsp.convert import offset
from agentls.lsp.editor import ANY
from agentls.lsp.progress import TaskProgress
from agentls.lsp.server import AgentServer
from agentls.lsp.workspace_context import uri_to_path
from agentls.model.base import ModelError

log = logging.getLogger(__name__)

SETTINGS_WAIT = 5.0


def _invalid(message: str) -> JsonRpcInvalidParams:
    error: JsonRpcInvalidParams = JsonRpcInvalidParams.of(BadArguments(message))
    return error


def register(server: AgentServer) -> None:
    # Each handler's typed parameter is structured by pygls with the server's converter
    # (``arguments.py``: strict, camelCase; a bad object is answered with -32602).
    @server.command("agentls.run")
    def run(ls: AgentServer, args: RunArgs) -> Generator[Any, Any, dict[str, Any]]:
        # A generator: pygls runs the part before ``yield`` as it reads the request,
        # before the messages read with it (a keystroke typed right after the command
        # must not shift the range it names).
        stamp = Stamp.take(ls, args)
        result: dict[str, Any] = yield run_task, (ls, args, None, stamp), {}
        return result

    @server.command("agentls.cancel")
    def cancel(ls: AgentServer, args: TaskArgs) -> dict[str, Any]:
        return {"cancelled": ls.tasks.cancel(args.task_id)}

    @server.command("agentls.accept")
    def accept(ls: AgentServer, args: TaskArgs) -> dict[str, Any]:
        task = _finished_task(ls, args)
        task.undo = None
        if task.anchor is not None and task.uri is not None:
            ls.store.release(task.uri, task.anchor)
        task.anchor = None
        return {"taskId": task.id, "status": "accepted"}

    @server.command("agentls.undo")
    async def undo(ls: AgentServer, args: TaskArgs) -> dict[str, Any]:
        task = _finished_task(ls, args)
        if task.undo is None:
            return {"taskId": task.id, "status": "refused", "message": "Nothing to undo."}
        job = asyncio.ensure_future(task.undo())

        def outcome(job: asyncio.Future[str], answered_early: bool) -> dict[str, Any]:
            error = job.exception()
            if isinstance(error, RegionConflict | EditorError):
                ls.show(types.MessageType.Warning, f"agentls: undo of {task.id} refused: {error}")
                return {"taskId": task.id, "status": "refused", "message": str(error)}
            if error is not None:
                raise error
            if answered_early:
                ls.show(types.MessageType.Info, f"agentls: undo of {task.id}: {job.result()}")
            return {"taskId": task.id, "status": "undone", "message": job.result()}

        await _until_done_or_stalled(ls, task.uri or "", job)
        if not job.done():  # the editor waits for this answer before it reports the edit
            job.add_done_callback(lambda j: outcome(j, answered_early=True))
            return {
                "taskId": task.id,
                "status": "pending",
                "message": "The undo edit was sent; the outcome will be shown.",
            }
        return outcome(job, answered_early=False)

    @server.command("agentls.status")
    def status(ls: AgentServer, args: NoArgs) -> dict[str, Any]:
        running = ls.tasks.running()
        return {
            "running": [t.to_json() for t in running],
            "recent": [t.to_json() for t in ls.tasks.tasks.values() if t not in running][-10:],
            "usage": _total_usage(list(ls.tasks.tasks.values())),
        }

    @server.command("agentls.context")
    async def context(ls: AgentServer, args: ContextArgs) -> dict[str, Any]:
        uri, position = args.uri, args.position.position()
        budget = args.budget or ls.settings.context.max_tokens
        snapshot = ls.store.get(uri)
        if snapshot is not None:
            line, column = _line_column(snapshot, offset(snapshot, position, ls.encoding))
        else:
            path = uri_to_path(uri)
            if path is None or not path.is_file():
                raise _invalid(f"{uri} is not open in the editor and not a file")
            line, column = position.line, position.character
        selection = await ls.context.select(uri, line, column, budget)
        if selection is None:
            raise _invalid(f"{uri}: no workspace for it")
        return selection.to_json()


def _line_column(snapshot: Snapshot, at: int) -> tuple[int, int]:
    """The line and column (code points, as the context engine counts) of offset ``at``."""
    pos = snapshot.index.position(at, "utf-32")
    return pos.line, pos.character


def _total_usage(tasks: list[Task]) -> dict[str, int | float]:
    total: dict[str, int | float] = {
        "inputTokens": sum(t.usage.input_tokens for t in tasks),
        "outputTokens": sum(t.usage.output_tokens for t in tasks),
    }
    costs = [t.usage.cost_usd for t in tasks if t.usage.cost_usd is not None]
    if costs:
        total["costUsd"] = round(sum(costs), 6)
    return total


def _finished_task(ls: AgentServer, args: TaskArgs) -> Task:
    task_id = args.task_id
    if task_id is None:  # the most recent task that can be undone
        candidates = [t for t in ls.tasks.tasks.values() if t.result and t.undo]
        if not candidates:
            raise _invalid("no finished task to act on")
        return candidates[-1]
    task = ls.tasks.tasks.get(task_id)
    if task is None:
        raise _invalid(f"unknown task {task_id}")
    if task.result is None:
        raise _invalid(f"task {task_id} is still running")
    return task


def _is_secret_file(ls: AgentServer, uri: str) -> bool:
    """Whether the workspace's secret names (and the user's patterns) cover ``uri``."""
    engine = ls.context.engine_for(uri)
    path = uri_to_path(uri)
    if engine is None or path is None:
        return False
    relative = engine.relative(path)
    return relative is not None and engine.files.secrets.is_secret(relative)


def _failed(ls: AgentServer, task: Task, message: str) -> dict[str, Any]:
    task.result = TaskResult(task.id, "failed", message, usage=task.usage)
    ls.show(types.MessageType.Error, f"agentls: {message}")
    return task.result.to_json()


async def _until_done_or_stalled(ls: AgentServer, uri: str, job: asyncio.Future[Any]) -> None:
    """Wait for ``job``, or until an edit of ``uri`` stays unreported: the editor may be
    blocked on this very request (eglot sends didChange from an idle timer), and then
    the request must be answered before the job can go on."""
    stalled = asyncio.Event()
    stop_listening = ls.editor.on_stall(uri, stalled.set)
    stall = asyncio.ensure_future(stalled.wait())
    try:
        await asyncio.wait([job, stall], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stall.cancel()
        stop_listening()


def _on_request_cancelled(outer: Any, callback: Callable[[], object]) -> None:
    """Call ``callback`` when the client sends ``$/cancelRequest`` for this request.

    pygls runs a command inside its builtin executeCommand handler and cancels only
    that outer future, not our coroutine, so we watch the outer future ourselves.
    """
    if outer is not None:
        outer.add_done_callback(lambda f: callback() if f.cancelled() else None)


@dataclass(frozen=True)
class Stamp:
    """What a request names, taken the moment it is read: its range and position as
    spans of the text the editor had then, and the request's own future."""

    snapshot: Snapshot | None
    region: Span | None  # the range
    where: Span | None  # where the full agent starts (position, or the range's start)
    request: Any

    @classmethod
    def take(cls, ls: AgentServer, args: RunArgs) -> Stamp:
        snapshot = ls.store.get(args.uri) if args.uri else None
        region = where = None
        if snapshot is not None:
            if args.start is not None and args.end is not None:
                start = offset(snapshot, args.start, ls.encoding)
                region = snapshot.span(start, max(start, offset(snapshot, args.end, ls.encoding)))
            point = args.at or args.start
            if point is not None:
                at = offset(snapshot, point, ls.encoding)
                where = snapshot.span(at, at)
        msg_id = ls.protocol.msg_id
        request = ls.protocol._request_futures.get(msg_id) if msg_id else None
        return cls(snapshot, region, where, request)


async def run_task(
    ls: AgentServer,
    args: RunArgs,
    token: types.ProgressToken | None = None,
    stamp: Stamp | None = None,
) -> dict[str, Any]:
    task = ls.tasks.new(args.instruction, args.uri)
    stamp = stamp or Stamp.take(ls, args)
    snapshot, region, where = stamp.snapshot, stamp.region, stamp.where
    try:  # a task sent right after start-up waits for the editor's settings
        await asyncio.wait_for(ls.settings_ready.wait(), SETTINGS_WAIT)
    except TimeoutError:
        log.warning("no settings from the editor after %s s; using what we have", SETTINGS_WAIT)
    prices = (ls.settings.model.input_cost_per_mtok, ls.settings.model.output_cost_per_mtok)
    if ls.settings.agent.max_cost_usd is not None and prices == (None, None):
        ls.warn_once(f"agentls: {UNPRICED}")  # once per server run (the summary says it too)
    try:
        if args.uri is not None and snapshot is None and args.start is not None:
            raise DocumentClosed(f"{args.uri} is not open in the editor")
        # In a thread: the first call imports the SDK, which must not stall the server.
        model = await asyncio.to_thread(ls.model)
        if not ls.tasks.running():
            await ls.close_retired()  # no task uses an older client any more
    except (DocumentClosed, ModelError) as error:
        return _failed(ls, task, getattr(error, "message", str(error)))
    progress: TaskProgress | None = None

    def report(message: str) -> None:
        if progress is not None:
            usage = task.usage
            cost = f" · ${usage.cost_usd:.4f}" if usage.cost_usd is not None else ""
            progress.report(f"{message} · {usage.input_tokens}+{usage.output_tokens} tok{cost}")

    body: Callable[[], Awaitable[TaskResult]]
    if args.mode == "edit" and args.start is not None and args.end is not None:
        assert region is not None and args.uri is not None
        if _is_secret_file(ls, args.uri):
            return _failed(
                ls, task, "This file is a secret file (by its name): agentls sends none of it."
            )
        body = Rewrite(
            task,
            RewriteRequest(args.instruction, region, snapshot),
            model=model,
            editor=ls.editor,
            settings=ls.settings,
            report=report,
            trees=ls.trees,
            related=ls.context.related,
        ).run
        watched = args.uri or ANY
    else:
        engine = ls.context.engine_for(args.uri) if args.uri else ls.context.first_engine()
        if engine is None:
            return _failed(ls, task, "No workspace folder for this task: open a folder first.")
        line, column = 0, 0
        if where is not None:
            try:  # where the request pointed, in the text as it is now
                now = ls.store.snapshot(where.uri)
                at, _ = ls.store.rebase(where).offsets(now)
                line, column = _line_column(now, at)
            except (DocumentClosed, StalePosition):
                where = None
        request = AgentRequest(
            args.instruction, args.mode, args.uri, line if where else None, column
        )
        body = AgentRun(ls, task, request, engine, model, report).run
        watched = ANY
    progress = await TaskProgress.start(ls, f"agentls: {args.instruction[:60]}", token, task.cancel)
    ls.tasks.start(task, lambda _: body())
    _on_request_cancelled(stamp.request, task.cancel)
    runner = task.runner
    assert runner is not None
    await _until_done_or_stalled(ls, watched, runner)

    def finish(result: TaskResult, answered_early: bool) -> None:
        progress.end(result.summary)
        if result.status == "failed":
            ls.show(types.MessageType.Error, f"agentls: {result.summary}")
        elif result.status == "cancelled" or answered_early:
            ls.show(types.MessageType.Info, f"agentls: {result.summary}")

    if not runner.done():
        # The editor does not report our edits while this request is open (eglot sends
        # didChange from an idle timer): answer now, let the task go on, report its end.
        log.info("task %s: the editor seems blocked on the command; answering early", task.id)
        runner.add_done_callback(lambda r: finish(r.result(), answered_early=True))
        return {
            "taskId": task.id,
            "status": "running",
            "summary": "The task goes on in the background; its result will be shown.",
            "editedFiles": [],
            "usage": task.usage.to_json(),
        }
    result = runner.result()
    finish(result, answered_early=False)
    return result.to_json()
