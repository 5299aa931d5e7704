"""The model seam: one method that yields stream events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol


@dataclass(frozen=True)
class Message:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class TextDelta:
    text: str
    type: Literal["text"] = "text"


@dataclass(frozen=True)
class UsageReport:
    input_tokens: int
    output_tokens: int
    type: Literal["usage"] = "usage"


@dataclass(frozen=True)
class StreamEnd:
    finish_reason: str
    type: Literal["end"] = "end"


ModelEvent = TextDelta | UsageReport | StreamEnd


class ModelError(Exception):
    """A model failure, with one line the user can act on."""

    def __init__(self, message: str, kind: str = "error") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


class Model(Protocol):
    name: str

    def stream(self, messages: Sequence[Message]) -> AsyncIterator[ModelEvent]:
        """Stream the reply; raises ``ModelError``. Closing the iterator closes the stream."""
        ...
