"""The agent loop: call the model with tools, run its calls, feed the results back.

Read top to bottom (``AgentLoop.run``): the task and the context go in -> (the old
turns are compacted when the prompt nears the context window) -> the model answers
with text and tool calls -> each call runs (read-only calls of one turn in parallel;
a failure is a result the model reads) -> repeat until ``finish``. Before a task ends
as done, ``verify`` runs (diagnostics and ``verify.commands``): failures go back to
the model while steps remain. A limit (steps, tokens, cost, wall time), going round in
circles (the same call, steps that learn nothing, the same verification failure: first
a note to the model, then a stop; ``repeats.py``), or cancellation ends it too. A prompt
the model server refuses as too long is compacted and sent once more. Every step is a
typed event, so the LSP layer can show progress and a terminal can print it. Nothing
here imports pygls.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from agentls.agent.compact import compact, history_tokens
from agentls.agent.prompts import template
from agentls.agent.repeats import VERIFY_STOP, Repeats
from agentls.config import Settings
from agentls.model.base import (
    ContextTooLong,
    Message,
    Model,
    ModelError,
    StreamEnd,
    TextDelta,
    ToolCall,
    ToolSpec,
    UsageReport,
)
from agentls.policy.secrets import redact_secrets
from agentls.tools.box import Toolbox, ToolOutcome, spec

FINISH = spec(
    "finish",
    "End the task: a short summary of what was done (or why nothing was).",
    {"summary": {"type": "string"}},
    ["summary"],
)
CUT_REPLY_LIMIT = 2  # replies in a row cut at the output limit stop the task
MAX_SUMMARY_CHARS = 8000  # a longer summary (or plain answer) is cut for the user
CUT_NOTE = (
    "Your reply was cut off at the output limit (setting model.maxOutputTokens), so its "
    "tool calls were not run. Make smaller steps: edit_file with short old/new strings, "
    "or write a big file in parts."
)
_CUT_TWICE = (
    f"stopped: the model's reply was cut off at the output limit {CUT_REPLY_LIMIT} times in "
    "a row (setting model.maxOutputTokens); nothing of those replies was run"
)

UNPRICED = (
    "Note: agent.maxCostUsd is set but the model has no prices (model.inputCostPerMtok, "
    "model.outputCostPerMtok), so the cost limit was not enforced."
)

Verify = Callable[[], Awaitable[str]]  # "" when all is well, else what failed
T = TypeVar("T")


@dataclass(frozen=True)
class Limits:
    max_steps: int = 30
    max_tokens: int | None = None  # input + output over the whole task
    max_cost_usd: float | None = None  # needs the prices
    max_seconds: float | None = None
    input_cost_per_mtok: float | None = None
    output_cost_per_mtok: float | None = None
    context_window: int | None = None  # compaction only when set
    compact_at: float = 0.8


def limits_from(settings: Settings, steps: int | None = None) -> Limits:
    """The task's limits from the settings (``steps``: another step budget, e.g. an
    explorer's)."""
    agent, model = settings.agent, settings.model
    return Limits(
        max_steps=steps or agent.max_steps,
        max_tokens=agent.max_tokens,
        max_cost_usd=agent.max_cost_usd,
        max_seconds=agent.max_seconds,
        input_cost_per_mtok=model.input_cost_per_mtok,
        output_cost_per_mtok=model.output_cost_per_mtok,
        context_window=model.context_window,
        compact_at=agent.compact_at,
    )


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
class Compacted:
    tokens_before: int
    tokens_after: int
    kind: Literal["compacted"] = "compacted"


@dataclass(frozen=True)
class Verified:
    problems: str  # "" when verification passed
    step: int
    kind: Literal["verified"] = "verified"


@dataclass(frozen=True)
class Finished:
    status: Literal["done", "failed", "cancelled"]
    summary: str
    steps: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None = None
    kind: Literal["finished"] = "finished"


AgentEvent = ModelText | ToolRan | Compacted | Verified | Finished


@dataclass
class _Turn:
    text: list[str] = field(default_factory=list)
    calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str = ""


class _Stop(Exception):
    """A limit ends the task; the message says which."""


class AgentLoop:
    def __init__(
        self,
        model: Model,
        toolbox: Toolbox,
        limits: Limits,
        root: str,
        *,
        verify: Verify | None = None,
        system: str = "agent_system.md",
    ) -> None:
        self.model = model
        self.toolbox = toolbox
        self.limits = limits
        self.root = root
        self.verify = verify
        self.system = system
        self.input_tokens = 0
        self.output_tokens = 0
        self.steps = 0
        self.last_text = ""  # the model's last words, for a summary when a limit stops it
        self._deadline: float | None = None
        self._refused_at: int | None = None  # prompt tokens the server refused as too long

    @property
    def specs(self) -> list[ToolSpec]:
        return [*self.toolbox.specs, FINISH]

    @property
    def explorer(self) -> bool:
        """A read-only explorer of another task (which says what the task should say)."""
        return self.system == "subagent_system.md"

    @property
    def cost_usd(self) -> float | None:
        price_in, price_out = self.limits.input_cost_per_mtok, self.limits.output_cost_per_mtok
        if price_in is None and price_out is None:
            return None
        return (self.input_tokens * (price_in or 0) + self.output_tokens * (price_out or 0)) / 1e6

    def tokens_left(self) -> int | None:
        """What remains of the token budget (None: no budget)."""
        budget = self.limits.max_tokens
        return None if budget is None else budget - self.input_tokens - self.output_tokens

    def add_usage(self, input_tokens: int, output_tokens: int) -> None:
        """Tokens spent on the task's behalf (its own calls, compaction, subagents)."""
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens

    async def run(
        self, task: str, context: str = "", instructions: str = "", guidance: str = ""
    ) -> AsyncIterator[AgentEvent]:
        """``context``: code the context engine chose; ``instructions``: the project's
        AGENTS.md files (``project.project_instructions``); ``guidance``: what the mode
        (plan, ask) asks on top of the system prompt. The last event is ``Finished``."""
        if self.limits.max_seconds is not None:
            self._deadline = time.monotonic() + self.limits.max_seconds
        history = self._start(task, context, instructions, guidance)
        try:
            async for event in self._steps(history):
                yield event
        except ModelError as error:
            yield self._end("failed", error.message)
        except _Stop as limit:
            yield self._end("failed", str(limit))

    async def _steps(self, history: list[Message]) -> AsyncIterator[AgentEvent]:
        repeats = Repeats()  # circles: steered, then stopped (agent/repeats.py)
        cut_replies = 0  # replies in a row cut at the output limit
        for step in range(1, self.limits.max_steps + 1):
            self.steps = step
            compacted = await self._compact_if_near_window(history)
            if compacted is not None:
                history[:], event = compacted
                yield event
            try:
                turn = await self._ask(history)
            except ContextTooLong as error:  # the server knows its window better than we do
                yield await self._compact_refused(history, error)
                turn = await self._ask_again(history)
            if turn.text:
                self.last_text = "".join(turn.text)
                yield ModelText(self.last_text)
            if turn.finish_reason == "length":
                cut_replies += 1
                if cut_replies >= CUT_REPLY_LIMIT:
                    yield self._end("failed", _CUT_TWICE)
                    return
                _answer_a_cut_reply(history, turn)
                continue
            cut_replies = 0
            history.append(Message("assistant", "".join(turn.text), tuple(turn.calls)))
            finish: ToolCall | None = None
            async for outcome in self._run_calls(turn.calls):
                if outcome.call.name == "finish":
                    finish = outcome.call
                    break
                yield ToolRan(outcome, step)
                # The last check before the model (in a thread: a big result costs time).
                text = await asyncio.to_thread(redact_secrets, outcome.text)
                note, stop = repeats.seen(outcome, self.toolbox.reads(outcome.call.name))
                history.append(Message("tool", text + note, tool_call_id=outcome.call.id))
                if stop:
                    yield self._end("failed", stop)
                    return
            if finish is not None or not turn.calls:  # an answer without calls ends it too
                summary = _summary(finish) if finish else "".join(turn.text).strip()
                verified = await self._verify(step)
                if verified is not None:
                    yield verified
                if verified is None or not verified.problems or step == self.limits.max_steps:
                    yield self._end_verified(summary or "(no summary)", verified)
                    return
                again, give_up = repeats.verify_failed(verified.problems)
                if give_up:
                    yield self._end_verified(summary or "(no summary)", verified, repeated=True)
                    return
                feedback = _verify_failed(verified.problems) + again
                self._answer_the_rest(history, turn.calls, feedback)
                continue
            note, stop = repeats.step_done()
            if stop:
                yield self._end("failed", stop)
                return
            if note:
                history.append(Message("user", note))
            over = self._over_a_limit()
            if over:
                yield self._end("failed", over)
                return
        yield self._end("failed", f"stopped: the step limit ({self.limits.max_steps}) was reached")

    # -- the steps ------------------------------------------------------------------------
    def _start(self, task: str, context: str, instructions: str, guidance: str) -> list[Message]:
        system = template(self.system).substitute(root=self.root)
        if guidance:
            system += f"\n\n{guidance}"
        if instructions:
            instructions = redact_secrets(instructions)
            system += f"\n\nThe project's instructions (from its files):\n{instructions}"
        context = redact_secrets(context)  # (the task is the user's own words: as typed)
        user = task if not context else f"{task}\n\nContext from the workspace:\n{context}"
        return [Message("system", system), Message("user", user)]

    async def _compact_if_near_window(
        self, history: list[Message]
    ) -> tuple[list[Message], Compacted] | None:
        window = self.limits.context_window
        if self._refused_at is not None:  # the server's real window is below this
            window = min(window or self._refused_at, self._refused_at)
        if window is None:
            return None
        before = history_tokens(history)
        if before < window * self.limits.compact_at:
            return None
        shorter, usage = await self._in_time(compact(self.model, history))
        self.add_usage(usage.input_tokens, usage.output_tokens)
        if shorter is history:
            return None
        return shorter, Compacted(before, history_tokens(shorter))

    async def _compact_refused(self, history: list[Message], error: ContextTooLong) -> Compacted:
        """The server refused the prompt as too long: compact harder than near the window
        (only the last turn stays whole), even with no ``model.contextWindow`` set."""
        before = history_tokens(history)
        self._refused_at = min(before, self._refused_at or before)
        try:
            shorter, usage = await self._in_time(compact(self.model, history, keep_recent=2))
        except ContextTooLong:
            shorter, usage = history, UsageReport(0, 0)
        self.add_usage(usage.input_tokens, usage.output_tokens)
        if shorter is history:
            raise ModelError(_too_long(before, error, "there were no earlier turns to compact"))
        history[:] = shorter
        return Compacted(before, history_tokens(shorter))

    async def _ask_again(self, history: list[Message]) -> _Turn:
        try:
            return await self._ask(history)
        except ContextTooLong as error:
            raise ModelError(
                _too_long(history_tokens(history), error, "even after compaction")
            ) from None

    async def _ask(self, history: Sequence[Message]) -> _Turn:
        turn = _Turn()

        async def read() -> None:
            async for event in self.model.stream(history, self.specs):
                if isinstance(event, TextDelta):
                    turn.text.append(event.text)
                elif isinstance(event, ToolCall):
                    turn.calls.append(event)
                elif isinstance(event, UsageReport):
                    self.add_usage(event.input_tokens, event.output_tokens)
                elif isinstance(event, StreamEnd):
                    turn.finish_reason = event.finish_reason

        await self._in_time(read())
        return turn

    async def _run_calls(self, calls: Sequence[ToolCall]) -> AsyncIterator[ToolOutcome]:
        """Each call's outcome, in order; a run of parallel-safe calls (reads,
        explorers) runs at once. ``finish`` is passed through, and ends the turn."""
        i = 0
        while i < len(calls):
            call = calls[i]
            if call.name == "finish":
                yield ToolOutcome(call, "", True)
                return
            group = [call]
            while (
                self.toolbox.is_parallel(group[0].name)
                and i + len(group) < len(calls)
                and self.toolbox.is_parallel(calls[i + len(group)].name)
            ):
                group.append(calls[i + len(group)])
            gathered = asyncio.gather(*(self.toolbox.run(c) for c in group))
            # A cancel (Ctrl-C, agentls.cancel) while the time limit's wait_for holds
            # the gathering leaves its CancelledError unread, which asyncio prints as a
            # traceback: it is read here (the cancel itself goes on up).
            gathered.add_done_callback(_read_outcome)
            outcomes = await self._in_time(gathered)
            for outcome in outcomes:
                yield outcome
            i += len(group)

    @staticmethod
    def _answer_the_rest(history: list[Message], calls: Sequence[ToolCall], text: str) -> None:
        """Verification failed after ``finish`` (or a plain answer): the model reads why.
        Every call of the turn needs an answer before the next request."""
        if not calls:
            history.append(Message("user", text))
            return
        answered = {m.tool_call_id for m in history if m.role == "tool"}
        for call in calls:
            if call.id not in answered:
                reply = text if call.name == "finish" else "not run: finish came first"
                history.append(Message("tool", reply, tool_call_id=call.id))

    async def _verify(self, step: int) -> Verified | None:
        if self.verify is None:
            return None
        return Verified(await self._in_time(self.verify()), step)

    # -- limits ---------------------------------------------------------------------------
    async def _in_time(self, work: Awaitable[T]) -> T:
        if self._deadline is None:
            return await work
        left = self._deadline - time.monotonic()
        try:
            return await asyncio.wait_for(work, max(left, 0.001))
        except TimeoutError:
            raise _Stop(
                f"stopped: the task's time limit ({self.limits.max_seconds:g} s) was reached"
            ) from None

    def _over_a_limit(self) -> str:
        budget = self.limits.max_tokens
        if budget is not None and self.input_tokens + self.output_tokens >= budget:
            said = self.last_text.strip()[:1000]
            return (
                f"stopped: the token budget ({budget}) is spent (setting agent.maxTokens), "
                f"after {self.steps} steps ({self.input_tokens:,} in, "
                f"{self.output_tokens:,} out); what was done so far is kept"
                + (f". The model's last words: {said}" if said else "")
            )
        cost, most = self.cost_usd, self.limits.max_cost_usd
        if cost is not None and most is not None and cost >= most:
            return f"stopped: the cost budget (${most:g}) is spent (${cost:.4f})"
        if self._deadline is not None and time.monotonic() >= self._deadline:
            return f"stopped: the task's time limit ({self.limits.max_seconds:g} s) was reached"
        return ""

    def _end_verified(
        self, summary: str, verified: Verified | None, *, repeated: bool = False
    ) -> Finished:
        if verified is not None and verified.problems:
            why = (
                f"stopped: verification failed the same way after finish {VERIFY_STOP} times.\n\n"
                if repeated
                else ""
            )
            return self._end(
                "failed", f"{why}{summary}\n\nVerification still fails:\n{verified.problems}"
            )
        return self._end("done", summary)

    def _end(self, status: Literal["done", "failed", "cancelled"], summary: str) -> Finished:
        summary = _short(summary)
        if self.limits.max_cost_usd is not None and self.cost_usd is None and not self.explorer:
            summary += f"\n\n{UNPRICED}"  # said once, at the end of the task
        return Finished(
            status,
            summary,
            self.steps,
            self.input_tokens,
            self.output_tokens,
            self.cost_usd,
        )


def _answer_a_cut_reply(history: list[Message], turn: _Turn) -> None:
    """A reply cut at the output limit: its calls are not run (their arguments may be
    cut, and a huge one must not go back to the model each turn); the model is told."""
    text = "".join(turn.text)
    if len(text) > 2000:
        text = text[:2000] + " … (cut)"
    calls = tuple(ToolCall(c.id, c.name, "{}") for c in turn.calls)
    if text or calls:
        history.append(Message("assistant", text, calls))
    for call in calls:
        history.append(Message("tool", f"not run: {CUT_NOTE}", tool_call_id=call.id))
    if not calls:
        history.append(Message("user", CUT_NOTE))


def _too_long(tokens: int, error: ContextTooLong, why: str) -> str:
    return (
        f"stopped: the prompt (about {tokens:,} tokens) is too long for the model, {why}. "
        "Lower context.maxTokens, set model.contextWindow to the model's real window, "
        f"or use a model with a larger one. The server said: {error.message}"
    )


def _read_outcome(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _short(summary: str) -> str:
    if len(summary) <= MAX_SUMMARY_CHARS:
        return summary
    return f"{summary[:MAX_SUMMARY_CHARS]} … ({len(summary) - MAX_SUMMARY_CHARS} characters cut)"


def _verify_failed(problems: str) -> str:
    return (
        "Verification after your edits found problems:\n"
        f"{problems}\n"
        "Fix them (or explain why they are not yours to fix), then call finish again."
    )


def _summary(call: ToolCall) -> str:
    try:
        arguments = json.loads(call.arguments or "{}")
    except (ValueError, RecursionError):  # (nested past the parser's depth)
        return call.arguments.strip() or "(no summary)"
    summary = arguments.get("summary") if isinstance(arguments, dict) else None
    return str(summary).strip() if summary else "(no summary)"
