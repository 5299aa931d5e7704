"""Compaction: old turns of a task become one structured summary.

Near ``compact_at`` of the model's context window, the history is cut in two: the
head (the system prompt with the project's instructions, and the task with its
context) and the recent turns stay verbatim; the turns in between go to the model,
which writes a summary (goal, what was learned, changes made, failed attempts, next
steps) that takes their place. The cut falls before an assistant message, so that
every tool result still follows the call it answers.
"""

from __future__ import annotations

from collections.abc import Sequence

from agentls.agent.prompts import template
from agentls.model.base import Message, Model, TextDelta, UsageReport
from agentls.model.tokens import count_tokens

HEAD = 2  # the system prompt and the task
KEEP_RECENT = 6  # messages kept verbatim at the end (about the last two or three turns)
RESULT_CHARS = 2000  # of each tool result, what the summarizer sees
SUMMARY_PREFIX = "Summary of the earlier turns of this task (they were compacted):\n"


def history_tokens(history: Sequence[Message]) -> int:
    """The prompt's size in tokens (o200k; close enough for a threshold)."""
    total = 0
    for message in history:
        total += count_tokens(message.content) + 4
        for call in message.tool_calls:
            total += count_tokens(call.name) + count_tokens(call.arguments) + 4
    return total


def _cut(history: Sequence[Message], keep_recent: int) -> int | None:
    """Index of the first message kept verbatim at the end (None: nothing to compact)."""
    cut = len(history) - keep_recent
    while cut > HEAD and history[cut].role != "assistant":
        cut -= 1
    return cut if cut > HEAD + 1 else None


def _transcript(messages: Sequence[Message]) -> str:
    out: list[str] = []
    for message in messages:
        text = message.content
        if message.role == "tool" and len(text) > RESULT_CHARS:
            text = text[:RESULT_CHARS] + f"\n… ({len(message.content) - RESULT_CHARS} chars cut)"
        if text.strip():
            out.append(f"[{message.role}] {text}")
        for call in message.tool_calls:
            out.append(f"[call] {call.name}({call.arguments})")
    return "\n\n".join(out)


async def compact(
    model: Model, history: list[Message], keep_recent: int = KEEP_RECENT
) -> tuple[list[Message], UsageReport]:
    """The history with its middle summarized, and the summary call's usage. Raises
    ``ModelError`` like any model call; returns the history unchanged when there is
    nothing between the head and the recent turns."""
    cut = _cut(history, keep_recent)
    if cut is None:
        return history, UsageReport(0, 0)
    request = [
        Message("system", template("compact_system.md").template),
        Message("user", _transcript(history[HEAD:cut])),
    ]
    parts: list[str] = []
    usage = UsageReport(0, 0)
    async for event in model.stream(request):
        if isinstance(event, TextDelta):
            parts.append(event.text)
        elif isinstance(event, UsageReport):
            usage = UsageReport(
                usage.input_tokens + event.input_tokens, usage.output_tokens + event.output_tokens
            )
    summary = "".join(parts).strip() or "(the summarizer returned nothing)"
    return [*history[:HEAD], Message("user", SUMMARY_PREFIX + summary), *history[cut:]], usage
