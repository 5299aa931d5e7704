"""Tasks: results, usage, and the registry that owns the running ones."""

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
            try:
                task.result = await body(task)
            except asyncio.CancelledError:
                if not task.cancel_requested:
                    raise
                current = asyncio.current_task()
                if current is not None:
                    current.uncancel()
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
        cancelled = []
        for task in list(self.tasks.values()):
            if task_id is not None and task.id != task_id:
                continue
            if task.runner is not None and not task.runner.done():
                task.cancel_requested = True
                task.runner.cancel()
                cancelled.append(task.id)
        return cancelled

    def running(self) -> list[Task]:
        return [t for t in self.tasks.values() if t.runner is not None and not t.runner.done()]

    def _forget_old(self) -> None:
        finished = [t for t in self.tasks.values() if t.result is not None]
        for task in finished[: max(0, len(finished) - self.keep_finished)]:
            if task.forget is not None:
                task.forget()
            del self.tasks[task.id]
