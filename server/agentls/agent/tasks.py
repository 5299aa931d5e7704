"""Tasks: results, usage, and the registry that owns the running ones.

Cancellation has one owner, the ``Task``: every host stops a task with
``Task.cancel`` (the registry's ``cancel`` for an id or all), and the task's body
takes the cancel back with ``Task.cancel_handled`` to run its clean-up: what happens
to the edits is the body's policy (``agent/run.py`` reverts or keeps them,
``agent/rewrite.py`` restores its region).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from agentls.edits.positions import Anchor

log = logging.getLogger(__name__)

Status = Literal["running", "done", "cancelled", "failed"]


@dataclass
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None  # when the model's prices are configured

    def to_json(self) -> dict[str, int | float]:
        out: dict[str, int | float] = {
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
        }
        if self.cost_usd is not None:
            out["costUsd"] = round(self.cost_usd, 6)
        return out


@dataclass
class TaskResult:
    task_id: str
    status: Status
    summary: str
    edited_files: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)

    def to_json(self) -> dict[str, Any]:
        return {
            "taskId": self.task_id,
            "status": self.status,
            "summary": self.summary,
            "editedFiles": self.edited_files,
            "usage": self.usage.to_json(),
        }


@dataclass
class Task:
    id: str
    instruction: str
    uri: str | None
    usage: Usage = field(default_factory=Usage)
    started: float = field(default_factory=time.monotonic)
    step: str = "starting"
    result: TaskResult | None = None
    cancel_requested: bool = False
    runner: asyncio.Task[TaskResult] | None = None
    undo: Callable[[], Awaitable[str]] | None = None  # set once the task has edits to undo
    anchor: Anchor | None = None  # where the task's edit stands now
    forget: Callable[[], None] | None = None  # releases what the task holds (its anchor)

    def cancel(self) -> bool:
        """Stop the task, from any host (a Cancel command, a cancelled request or
        progress, Ctrl-C): its runner gets a ``CancelledError`` and the task's body
        handles it (``cancel_handled``). A task still starting (waiting for settings,
        the model client, its progress) never starts. False when the task has ended."""
        if self.result is not None:
            return False
        if self.runner is None:  # still starting: ``TaskRegistry.start`` ends it at once
            self.cancel_requested = True
            return True
        if self.runner.done():
            return False
        self.cancel_requested = True
        self.runner.cancel()
        return True

    def cancel_handled(self) -> bool:
        """Called by the task's body where it caught a ``CancelledError``: True when it
        came from ``cancel`` and is now taken back (the body can await its clean-up:
        a revert, a restore) and ends the task ``cancelled``; False when something
        else cancelled the runner (the server going away): re-raise it."""
        if not self.cancel_requested:
            return False
        current = asyncio.current_task()
        if current is not None:
            current.uncancel()
        return True

    def to_json(self) -> dict[str, Any]:
        return {
            "taskId": self.id,
            "instruction": self.instruction,
            "uri": self.uri,
            "status": self.result.status if self.result else "running",
            "step": self.step,
            "seconds": round(time.monotonic() - self.started, 2),
            "usage": self.usage.to_json(),
        }


class TaskRegistry:
    """Owns every task: starts it, cancels it, remembers it for accept and undo."""

    def __init__(self, keep_finished: int = 50) -> None:
        self._ids = itertools.count(1)
        self.tasks: dict[str, Task] = {}
        self.keep_finished = keep_finished

    def new(self, instruction: str, uri: str | None) -> Task:
        task = Task(f"t{next(self._ids)}", instruction, uri)
        self.tasks[task.id] = task
        self._forget_old()
        return task

    def start(self, task: Task, body: Callable[[Task], Awaitable[TaskResult]]) -> None:
        async def run() -> TaskResult:
            if task.cancel_requested:  # cancelled while it was starting
                task.result = TaskResult(
                    task.id, "cancelled", "Cancelled before it started.", usage=task.usage
                )
                return task.result
            try:
                task.result = await body(task)
            except asyncio.CancelledError:
                if not task.cancel_handled():
                    raise
                task.result = TaskResult(task.id, "cancelled", "Cancelled.", usage=task.usage)
            except Exception as error:  # a bug: report it instead of losing the task
                log.exception("task %s crashed", task.id)
                task.result = TaskResult(
                    task.id, "failed", f"Internal error: {error}", usage=task.usage
                )
            return task.result

        task.runner = asyncio.ensure_future(run())

    def cancel(self, task_id: str | None = None) -> list[str]:
        """Cancel one running task, or all of them; the ids actually cancelled."""
        return [
            task.id
            for task in list(self.tasks.values())
            if (task_id is None or task.id == task_id) and task.cancel()
        ]

    def running(self) -> list[Task]:
        return [t for t in self.tasks.values() if t.runner is not None and not t.runner.done()]

    def _forget_old(self) -> None:
        finished = [t for t in self.tasks.values() if t.result is not None]
        for task in finished[: max(0, len(finished) - self.keep_finished)]:
            if task.forget is not None:
                task.forget()
            del self.tasks[task.id]
