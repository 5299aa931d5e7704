"""An in-process model for unit tests of the core (the end-to-end tests use real HTTP)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from agentls.model.base import Message, ModelError, ModelEvent, StreamEnd, TextDelta, UsageReport


@dataclass
class ScriptedReply:
    text: str
    chunk: int = 4  # characters per delta
    delay: float = 0.0  # seconds before each delta
    fail_after: int | None = None  # raise a cut-off ModelError after this many deltas
    usage: tuple[int, int] | None = None


@dataclass
class ScriptedModel:
    replies: list[ScriptedReply]
    name: str = "scripted"
    calls: list[list[Message]] = field(default_factory=list)
    deltas_sent: int = 0

    async def stream(self, messages: Sequence[Message]) -> AsyncIterator[ModelEvent]:
        self.calls.append(list(messages))
        reply = self.replies.pop(0)
        pieces = [reply.text[i : i + reply.chunk] for i in range(0, len(reply.text), reply.chunk)]
        for n, piece in enumerate(pieces):
            if reply.fail_after is not None and n >= reply.fail_after:
                raise ModelError("The model's stream was cut off midway.", "cut")
            await asyncio.sleep(reply.delay)
            self.deltas_sent += 1
            yield TextDelta(piece)
        if reply.usage:
            yield UsageReport(*reply.usage)
        yield StreamEnd("stop")
