"""Chat Completions over the openai SDK (OpenAI, Ollama, vLLM, llama.cpp, LM Studio).

The SDK does the HTTP, SSE parsing and the retries with backoff (429, 5xx,
connection errors; it honours ``retry-after``). This module turns its errors into
one line the user can act on and never assumes the server honours every field.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from agentls.config import ModelSettings
from agentls.model.base import (
    ContextTooLong,
    Message,
    ModelError,
    ModelEvent,
    StreamEnd,
    TextDelta,
    ToolCall,
    ToolSpec,
    UsageReport,
    says_too_long,
)

if TYPE_CHECKING:
    import openai

log = logging.getLogger(__name__)

DEFAULT_MODEL = "gpt-5-mini"
OPENAI_URL = "https://api.openai.com/v1"
# A reply longer than model.maxOutputTokens times this many characters (text and tool
# arguments, JSON-escaped) comes from a server that ignores the limit: it is not read
# further, and ends as if the server had stopped it ("length").
OUTPUT_CHARS_PER_TOKEN = 16

HOW_TO_CONFIGURE = (
    "set OPENAI_API_KEY for OpenAI, or point OPENAI_BASE_URL (setting model.baseUrl) at an "
    "OpenAI-compatible server such as Ollama (http://127.0.0.1:11434/v1), and choose the "
    "model with AGENTLS_MODEL (setting model.name)"
)


def resolve(settings: ModelSettings, env: dict[str, str] | None = None) -> tuple[str, str, str]:
    """(base URL, model name, API key) from settings, then the environment."""
    env = dict(os.environ) if env is None else env
    base_url = settings.base_url or env.get("OPENAI_BASE_URL") or OPENAI_URL
    name = settings.name or env.get("AGENTLS_MODEL") or DEFAULT_MODEL
    key = env.get(settings.api_key_env, "")
    if not key:
        if base_url.rstrip("/") == OPENAI_URL:
            raise ModelError(f"No model is configured: {HOW_TO_CONFIGURE}.", "config")
        key = "none"  # local servers usually need no key, but the SDK wants one
    return base_url, name, key


class OpenAIChatModel:
    def __init__(self, settings: ModelSettings, env: dict[str, str] | None = None) -> None:
        self.settings = settings
        self.base_url, self.name, key = resolve(settings, env)
        import openai  # imported here: it takes most of a second, and a start must be quick

        self.client = openai.AsyncOpenAI(
            base_url=self.base_url,
            api_key=key,
            max_retries=settings.max_retries,
            timeout=settings.timeout,
            # aiohttp's C parser: a third less CPU per streamed chunk than the default stack.
            http_client=openai.DefaultAioHttpClient(timeout=settings.timeout),
        )

    async def stream(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()
    ) -> AsyncIterator[ModelEvent]:
        import openai

        request: dict[str, Any] = {
            "model": self.name,
            "messages": [_wire(m) for m in messages],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if tools:
            request["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t.name,
                        "description": t.description,
                        "parameters": t.parameters,
                    },
                }
                for t in tools
            ]
        # OpenAI's newer models want max_completion_tokens; other servers know max_tokens.
        limit_key = "max_completion_tokens" if self.base_url == OPENAI_URL else "max_tokens"
        request[limit_key] = self.settings.max_output_tokens
        if self.settings.temperature is not None:
            request["temperature"] = self.settings.temperature
        try:
            manager, response = await self._open(request)
        except openai.APIError as error:
            raise self._explain(error, started=False) from error
        finish: str | None = None
        reader = ChunkReader()
        most = self.settings.max_output_tokens * OUTPUT_CHARS_PER_TOKEN
        # The SDK makes the request (auth, retries, status errors); we read the SSE lines
        # ourselves: parsing each chunk into SDK objects costs more than all the rest.
        try:
            with self._reading():
                async for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    for event in reader.feed(data):
                        if isinstance(event, StreamEnd):
                            finish = event.finish_reason
                        else:
                            yield event
                    if reader.chars > most and finish is None:
                        log.warning(
                            "the model's reply passed %d characters (model.maxOutputTokens "
                            "%d): not read further",
                            reader.chars,
                            self.settings.max_output_tokens,
                        )
                        reader.drop_calls()  # cut: their arguments are not whole
                        finish = "length"
                        break
        finally:
            await manager.__aexit__(None, None, None)  # closes the connection
        if finish is None:
            raise ModelError("The model's stream was cut off midway (no finish reason).", "cut")
        yield StreamEnd(finish)

    async def aclose(self) -> None:
        """Close the HTTP client's connections (a model is done with when its task is)."""
        await self.client.close()

    async def _open(self, request: dict[str, Any]) -> tuple[Any, Any]:
        """Make the request: (the SDK's response manager, the open response)."""
        import openai

        create = self.client.chat.completions.with_streaming_response.create
        manager = create(**request)
        try:
            return manager, await manager.__aenter__()
        except openai.BadRequestError as error:
            if says_too_long(f"{error.code} {error.message}"):
                raise  # the prompt itself is too long: no use asking again
            # Some servers refuse optional fields: try once with the bare minimum.
            log.info("model server refused the request; retrying without optional fields")
            needed = ("model", "messages", "stream", "tools")
            manager = create(**{k: request[k] for k in needed if k in request})
            return manager, await manager.__aenter__()

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Around the reading of a stream (both APIs): its failures as ``ModelError``s."""
        import openai

        try:
            yield
        except openai.APIError as error:
            raise self._explain(error, started=True) from error
        except ModelError:
            raise
        except Exception as error:  # the HTTP layer's own errors while reading
            if "timeout" in type(error).__name__.lower():
                raise ModelError(
                    f"The model at {self.base_url} stopped sending for "
                    f"{self.settings.timeout:g} s (setting model.timeout).",
                    "timeout",
                ) from error
            raise ModelError("The model's stream was cut off midway.", "cut") from error

    def _explain(self, error: openai.APIError, *, started: bool) -> ModelError:
        import openai

        where = f"{self.base_url}"
        retries = self.settings.max_retries
        if isinstance(error, openai.AuthenticationError):
            return ModelError(
                f"The model server at {where} rejected the API key (401): check "
                f"{self.settings.api_key_env} or setting model.apiKeyEnv.",
                "auth",
            )
        if isinstance(error, openai.NotFoundError):
            return ModelError(
                f"Model {self.name!r} was not found at {where} (404): check AGENTLS_MODEL "
                "or setting model.name, and model.baseUrl.",
                "not-found",
            )
        if isinstance(error, openai.APITimeoutError):
            return ModelError(
                f"The model at {where} did not answer within {self.settings.timeout:g} s "
                "(setting model.timeout).",
                "timeout",
            )
        if isinstance(error, openai.APIConnectionError):
            if started:
                return ModelError("The model's stream was cut off midway.", "cut")
            return ModelError(
                f"Cannot reach the model server at {where} (after {retries} retries).",
                "connection",
            )
        if isinstance(error, openai.RateLimitError):
            return ModelError(
                f"The model server at {where} is rate limiting (429) after {retries} retries.",
                "rate-limit",
            )
        if isinstance(error, openai.APIStatusError):
            detail = _first_line(error.message)
            if error.status_code in (400, 413) and says_too_long(f"{error.code} {error.message}"):
                return ContextTooLong(
                    f"The prompt is too long for model {self.name!r}: {detail}", "too-long"
                )
            return ModelError(
                f"The model server at {where} answered {error.status_code}"
                + (f" after {retries} retries" if error.status_code >= 500 else "")
                + f": {detail}",
                "status",
            )
        if started:
            return ModelError(f"The model's stream broke off: {_first_line(str(error))}", "cut")
        return ModelError(f"Model error: {_first_line(str(error))}")


def _wire(m: Message) -> dict[str, Any]:
    """A message as Chat Completions wants it."""
    if m.role == "tool":
        return {"role": "tool", "tool_call_id": m.tool_call_id or "", "content": m.content}
    out: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.tool_calls:
        out["content"] = m.content or None
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in m.tool_calls
        ]
    return out


class ChunkReader:
    """Events of a stream's ``data:`` payloads (chat.completion.chunk). Tool-call deltas
    are buffered per index and come out whole, in index order, before the end."""

    def __init__(self) -> None:
        self._calls: dict[int, dict[str, Any]] = {}
        self.chars = 0  # of text and tool-call arguments so far

    def drop_calls(self) -> None:
        self._calls.clear()

    def feed(self, data: str) -> list[ModelEvent]:
        try:
            chunk = json.loads(data)
        except ValueError:
            raise ModelError(
                f"The model server sent data that is not JSON: {data[:80]!r}"
            ) from None
        if not isinstance(chunk, dict):
            return []
        if isinstance(chunk.get("error"), dict):
            message = _first_line(str(chunk["error"].get("message", "")))
            raise ModelError(f"The model server reported an error mid-stream: {message}", "status")
        events: list[ModelEvent] = []
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            events.append(
                UsageReport(
                    int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
                )
            )
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if isinstance(content, str) and content:
                self.chars += len(content)
                events.append(TextDelta(content))
            for position, piece in enumerate(delta.get("tool_calls") or []):
                self._take(position, piece)
            if choice.get("finish_reason"):
                events.extend(self._finished())
                events.append(StreamEnd(str(choice["finish_reason"])))
        return events

    def _take(self, position: int, piece: Any) -> None:
        if not isinstance(piece, dict):
            return
        index = piece.get("index")
        index = index if isinstance(index, int) else position  # some servers send none
        call = self._calls.setdefault(index, {"id": "", "name": "", "arguments": []})
        if isinstance(piece.get("id"), str) and piece["id"]:
            call["id"] = piece["id"]
        function = piece.get("function") or {}
        if isinstance(function.get("name"), str) and function["name"]:
            call["name"] = function["name"]
        arguments = function.get("arguments")
        if isinstance(arguments, dict):  # Ollama sends an object, not a string
            arguments = json.dumps(arguments)
        if isinstance(arguments, str):
            self.chars += len(arguments)
            call["arguments"].append(arguments)

    def _finished(self) -> list[ModelEvent]:
        calls = [
            ToolCall(c["id"] or f"call_{i}", c["name"], "".join(c["arguments"]))
            for i, c in sorted(self._calls.items())
        ]
        self._calls.clear()
        return list(calls)


def _events(data: str) -> list[ModelEvent]:
    """Events of one payload, read on its own (tests; a stream uses one ChunkReader)."""
    return ChunkReader().feed(data)


def _first_line(text: str) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else "no detail"
    return line[:200]


def warm_up() -> None:
    """Run the SDK's request path once, without a socket (an in-process transport that
    answers an empty stream), so that its lazy imports and type caches are built here
    (in the start-up thread) and not on the event loop at the first task: ~25 ms."""
    import asyncio

    import httpx2 as httpx  # the HTTP library of openai 3.x (a dependency of it)
    import openai

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, text="data: [DONE]\n\n", headers={"content-type": "text/event-stream"}
        )

    async def once() -> None:
        http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
        client = openai.AsyncOpenAI(
            base_url="http://agentls.invalid/v1", api_key="none", max_retries=0, http_client=http
        )
        create = client.chat.completions.with_streaming_response.create
        request: dict[str, Any] = {
            "model": "warm-up",
            "messages": [{"role": "user", "content": "warm up"}],
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": 1,
        }
        async with create(**request) as response:
            async for _ in response.iter_lines():
                pass
        await client.close()

    try:
        asyncio.run(once())
    except Exception as error:  # a warm-up must never stop the server
        log.info("model client warm-up failed: %s", error)
