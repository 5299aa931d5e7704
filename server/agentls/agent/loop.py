"""The agent loop: call the model with tools, run its calls, feed the results back.

Read top to bottom (``AgentLoop.run``): the task and the context go in -> the model
answers with text and tool calls -> each call runs (a failure is a result the model
reads) -> repeat until ``finish``, a limit (steps, tokens), a loop of the same
failing call, or cancellation. Every step is reported as a typed event, so the LSP
layer can show progress and a terminal can print it. Nothing here imports pygls.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from agentls.agent.prompts import template
from agentls.model.base import (
    Message,
    Model,
    ModelError,
    StreamEnd,
    TextDelta,
    ToolCall,
    ToolSpec,
    UsageReport,
)
from agentls.tools.box import Toolbox, ToolOutcome, spec

FINISH = spec(
    "finish",
    "End the task: a short summary of what was done (or why nothing was).",
    {"summary": {"type": "string"}},
    ["summary"],
)
SAME_FAILURE_LIMIT = 3  # the same failing call this many times stops the task


@dataclass(frozen=True)
class Limits:
    max_steps: int = 30
    max_tokens: int | None = None  # input + output over the whole task


@dataclass(frozen=True)
class ModelText:
    text: str
    kind: Literal["text"] = "text"


@dataclass(frozen=True)
class ToolRan:
    outcome: ToolOutcome
    step: int
    kind: Literal["tool"] = "tool"


@dataclass(frozen=True)
class Finished:
    status: Literal["done", "failed", "cancelled"]
    summary: str
    steps: int
    input_tokens: int
    output_tokens: int
    kind: Literal["finished"] = "finished"


AgentEvent = ModelText | ToolRan | Finished


@dataclass
class _Turn:
    text: list[str] = field(default_factory=list)
    calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str = ""


class AgentLoop:
    def __init__(self, model: Model, toolbox: Toolbox, limits: Limits, root: str) -> None:
        self.model = model
        self.toolbox = toolbox
        self.limits = limits
        self.root = root
        self.input_tokens = 0
        self.output_tokens = 0

    @property
    def specs(self) -> list[ToolSpec]:
        return [*self.toolbox.specs, FINISH]

    async def run(
        self, task: str, context: str = "", instructions: str = ""
    ) -> AsyncIterator[AgentEvent]:
        """``context``: code the context engine chose; ``instructions``: the project's
        AGENTS.md files (``project.project_instructions``)."""
        system = template("agent_system.md").substitute(root=self.root)
        if instructions:
            system += f"\n\nThe project's instructions (from its files):\n{instructions}"
        user = task if not context else f"{task}\n\nContext from the workspace:\n{context}"
        history: list[Message] = [Message("system", system), Message("user", user)]
        failures: dict[tuple[str, str], int] = {}
        for step in range(1, self.limits.max_steps + 1):
            try:
                turn = await self._ask(history)
            except ModelError as error:
                yield self._end("failed", error.message, step)
                return
            if turn.text:
                yield ModelText("".join(turn.text))
            history.append(Message("assistant", "".join(turn.text), tuple(turn.calls)))
            if not turn.calls:  # an answer without calls ends the task too
                yield self._end("done", "".join(turn.text).strip() or "(no summary)", step)
                return
            for call in turn.calls:
                if call.name == "finish":
                    yield self._end("done", _summary(call), step)
                    return
                outcome = await self.toolbox.run(call)
                yield ToolRan(outcome, step)
                history.append(Message("tool", outcome.text, tool_call_id=call.id))
                if not outcome.ok:
                    key = (call.name, call.arguments)
                    failures[key] = failures.get(key, 0) + 1
                    if failures[key] >= SAME_FAILURE_LIMIT:
                        yield self._end(
                            "failed",
                            f"stopped: the model repeated the same failing call "
                            f"({call.name}) {failures[key]} times: {outcome.text[:200]}",
                            step,
                        )
                        return
            if self._over_budget():
                yield self._end(
                    "failed", f"stopped: the token budget ({self.limits.max_tokens}) is spent", step
                )
                return
        yield self._end(
            "failed", f"stopped: the step limit ({self.limits.max_steps}) was reached", step
        )

    async def _ask(self, history: Sequence[Message]) -> _Turn:
        turn = _Turn()
        async for event in self.model.stream(history, self.specs):
            if isinstance(event, TextDelta):
                turn.text.append(event.text)
            elif isinstance(event, ToolCall):
                turn.calls.append(event)
            elif isinstance(event, UsageReport):
                self.input_tokens += event.input_tokens
                self.output_tokens += event.output_tokens
            elif isinstance(event, StreamEnd):
                turn.finish_reason = event.finish_reason
        return turn

    def _over_budget(self) -> bool:
        budget = self.limits.max_tokens
        return budget is not None and self.input_tokens + self.output_tokens >= budget

    def _end(
        self, status: Literal["done", "failed", "cancelled"], summary: str, step: int
    ) -> Finished:
        return Finished(status, summary, step, self.input_tokens, self.output_tokens)


def _summary(call: ToolCall) -> str:
    try:
        arguments = json.loads(call.arguments or "{}")
    except ValueError:
        return call.arguments.strip() or "(no summary)"
    summary = arguments.get("summary") if isinstance(arguments, dict) else None
    return str(summary).strip() if summary else "(no summary)"
