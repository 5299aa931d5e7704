"""The model seam: one method that yields stream events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol


@dataclass(frozen=True)
class ToolCall:
    """A complete tool call of the model: ``arguments`` as sent (JSON, maybe malformed)."""

    id: str
    name: str
    arguments: str
    type: Literal["tool_call"] = "tool_call"


@dataclass(frozen=True)
class ToolSpec:
    """A tool the model may call: its name, what it does, a JSON schema of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class Message:
    role: Literal["system", "user", "assistant", "tool"]
    content: str
    tool_calls: tuple[ToolCall, ...] = ()  # an assistant message's calls
    tool_call_id: str | None = None  # a tool message answers this call


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


ModelEvent = TextDelta | ToolCall | UsageReport | StreamEnd


class ModelError(Exception):
    """A model failure, with one line the user can act on."""

    def __init__(self, message: str, kind: str = "error") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


class ContextTooLong(ModelError):
    """The server refused the prompt as longer than the model's context window."""


# How servers word it: OpenAI's error code, vLLM, llama.cpp, Ollama, LM Studio.
TOO_LONG_WORDS = (
    "context_length_exceeded",
    "maximum context length",
    "context length exceeded",
    "exceeds the available context size",
    "exceed_context_size",
    "too many tokens",
    "prompt is too long",
)


def says_too_long(text: str) -> bool:
    """Whether an error's code or message says the prompt is over the context window."""
    text = text.lower()
    return any(words in text for words in TOO_LONG_WORDS)


class Model(Protocol):
    name: str

    def stream(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()
    ) -> AsyncIterator[ModelEvent]:
        """Stream the reply; raises ``ModelError``. Closing the iterator closes the stream.
        Tool calls come whole (their deltas buffered), before the ``StreamEnd``."""
        ...
