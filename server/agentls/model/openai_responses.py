"""OpenAI's Responses API over the openai SDK (setting ``model.api: "responses"``).

The same client, retries, error messages and close as Chat Completions
(``OpenAIChatModel``, which this extends); only the wire differs:
``client.responses.create(stream=True)`` with the conversation as input items (a tool
call of the model is a ``function_call`` item, its result a ``function_call_output``),
the tools as function tools, and a stream of typed events:
``response.output_text.delta`` (text), ``response.output_item.added`` /
``response.function_call_arguments.delta`` / ``response.output_item.done`` (a tool
call, buffered until whole), ``response.completed`` (usage) or
``response.incomplete`` (cut at ``max_output_tokens``: finish reason ``length``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

from agentls.model.base import (
    Message,
    ModelError,
    ModelEvent,
    StreamEnd,
    TextDelta,
    ToolCall,
    ToolSpec,
    UsageReport,
)
from agentls.model.openai_chat import OUTPUT_CHARS_PER_TOKEN, OpenAIChatModel, _first_line

log = logging.getLogger(__name__)


def _input(messages: Sequence[Message]) -> list[dict[str, Any]]:
    """The conversation as Responses input items."""
    items: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "tool":
            items.append(
                {
                    "type": "function_call_output",
                    "call_id": m.tool_call_id or "",
                    "output": m.content,
                }
            )
            continue
        if m.content or not m.tool_calls:
            items.append({"role": m.role, "content": m.content})
        for call in m.tool_calls:
            items.append(
                {
                    "type": "function_call",
                    "call_id": call.id,
                    "name": call.name,
                    "arguments": call.arguments,
                }
            )
    return items


def _tools(tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "name": t.name,
            "description": t.description,
            "parameters": t.parameters,
            "strict": False,  # our schemas have optional fields
        }
        for t in tools
    ]


class EventReader:
    """``ModelEvent``s of the stream's typed events; a tool call comes out whole when
    its item is done (or at the end), in output order."""

    def __init__(self) -> None:
        self._calls: dict[int, dict[str, Any]] = {}  # by output_index
        self.chars = 0  # of text and tool-call arguments so far
        self.finish: str | None = None

    def feed(self, event: Any) -> list[ModelEvent]:
        kind = getattr(event, "type", "")
        if kind == "response.output_text.delta":
            self.chars += len(event.delta)
            return [TextDelta(event.delta)] if event.delta else []
        if kind == "response.output_item.added" and event.item.type == "function_call":
            item = event.item
            self._calls[event.output_index] = {
                "id": item.call_id,
                "name": item.name,
                "arguments": [item.arguments or ""],
            }
        elif kind == "response.function_call_arguments.delta":
            call = self._calls.setdefault(
                event.output_index, {"id": "", "name": "", "arguments": []}
            )
            self.chars += len(event.delta)
            call["arguments"].append(event.delta)
        elif kind == "response.output_item.done" and event.item.type == "function_call":
            item = event.item
            self._calls.pop(event.output_index, None)
            return [ToolCall(item.call_id, item.name, item.arguments)]
        elif kind in ("response.completed", "response.incomplete"):
            return self._ended(event.response, kind)
        elif kind in ("response.failed", "error"):
            error = getattr(event, "response", None)
            detail = getattr(getattr(error, "error", None), "message", "") or getattr(
                event, "message", ""
            )
            raise ModelError(
                f"The model server reported an error mid-stream: {_first_line(str(detail))}",
                "status",
            )
        return []

    def _ended(self, response: Any, kind: str) -> list[ModelEvent]:
        events: list[ModelEvent] = self.whole_calls()
        usage = getattr(response, "usage", None)
        if usage is not None:
            events.append(UsageReport(int(usage.input_tokens or 0), int(usage.output_tokens or 0)))
        if kind == "response.incomplete":
            self.finish = "length"
        else:
            called = any(getattr(item, "type", "") == "function_call" for item in response.output)
            self.finish = "tool_calls" if called else "stop"
        return events

    def whole_calls(self) -> list[ModelEvent]:
        calls: list[ModelEvent] = [
            ToolCall(c["id"] or f"call_{i}", c["name"], "".join(c["arguments"]))
            for i, c in sorted(self._calls.items())
        ]
        self._calls.clear()
        return calls

    def drop_calls(self) -> None:
        self._calls.clear()


class OpenAIResponsesModel(OpenAIChatModel):
    """The Responses API (see the module doc)."""

    async def stream(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()
    ) -> AsyncIterator[ModelEvent]:
        import openai

        request: dict[str, Any] = {
            "model": self.name,
            "input": _input(messages),
            "stream": True,
            "max_output_tokens": self.settings.max_output_tokens,
        }
        if tools:
            request["tools"] = _tools(tools)
        if self.settings.temperature is not None:
            request["temperature"] = self.settings.temperature
        try:
            stream = await self.client.responses.create(**request)
        except openai.APIError as error:
            raise self._explain(error, started=False) from error
        reader = EventReader()
        most = self.settings.max_output_tokens * OUTPUT_CHARS_PER_TOKEN
        try:
            with self._reading():
                async for event in stream:
                    for out in reader.feed(event):
                        yield out
                    if reader.finish is not None:
                        break
                    if reader.chars > most:
                        log.warning(
                            "the model's reply passed %d characters: not read further",
                            reader.chars,
                        )
                        reader.drop_calls()  # cut: their arguments are not whole
                        reader.finish = "length"
                        break
        finally:
            await stream.close()  # closes the connection
        if reader.finish is None:
            raise ModelError(
                "The model's stream was cut off midway (no response.completed).", "cut"
            )
        yield StreamEnd(reader.finish)
