"""A scripted, OpenAI-compatible Chat Completions server for tests and benchmarks.

``ScriptedModelServer`` is a real HTTP server (aiohttp.web) bound to 127.0.0.1 on a
random port. Each ``POST /v1/chat/completions`` consumes one scripted *step* from a
FIFO queue and answers it in the OpenAI wire format: Server-Sent Events with
``chat.completion.chunk`` objects when the request has ``stream: true``, otherwise a
single ``chat.completion`` JSON object. ``POST /v1/responses`` (streamed) plays the
same steps as Responses API events: ``response.created``, ``response.output_item.added``,
``response.output_text.delta``, ``response.function_call_arguments.delta``,
``response.output_item.done``, then ``response.completed`` with the usage (or
``response.incomplete`` for a step cut at the output limit).

Steps are built with :func:`text_reply`, :func:`tool_call_reply`, :func:`error_reply`
and :func:`hang_reply`. Example::

    server = ScriptedModelServer()
    await server.start()
    server.enqueue(error_reply(429, retry_after_ms=10), text_reply("Hello, world!"))
    client = openai.AsyncOpenAI(base_url=server.base_url, api_key="test")
    ...
    await server.stop()
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web

from tests.support.responses_wire import response_events, response_object, response_usage

_TOKEN_RE = re.compile(r"\s+|\w+|[^\w\s]")
_DEFAULT_MODEL = "scripted-model"
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


@dataclass(frozen=True)
class TextStep:
    """Stream ``text`` as content deltas (see :func:`text_reply`)."""

    text: str
    tokens_per_second: float | None = None
    first_byte_delay: float = 0.0
    cut_after_chunks: int | None = None
    usage: bool = True
    finish_reason: str = "stop"
    chunk: Literal["token", "char", "line"] = "token"


@dataclass(frozen=True)
class ToolCallStep:
    """Stream optional text, then tool calls (see :func:`tool_call_reply`)."""

    calls: tuple[tuple[str, str], ...]  # (name, JSON arguments string)
    text: str = ""
    fragments: int = 3
    tokens_per_second: float | None = None


@dataclass(frozen=True)
class ErrorStep:
    """Answer with an HTTP error status (see :func:`error_reply`)."""

    status: int
    message: str
    times: int = 1
    retry_after_ms: int | None = None
    code: str | None = None


@dataclass(frozen=True)
class HangStep:
    """Never answer (see :func:`hang_reply`)."""


Step = TextStep | ToolCallStep | ErrorStep | HangStep


def text_reply(
    text: str,
    *,
    tokens_per_second: float | None = None,
    first_byte_delay: float = 0.0,
    cut_after_chunks: int | None = None,
    usage: bool = True,
    finish_reason: str = "stop",
    chunk: Literal["token", "char", "line"] = "token",
) -> TextStep:
    """Answer with ``text``, streamed as content deltas.

    ``chunk`` selects the split: pseudo-tokens (``"token"``), characters (``"char"``)
    or whole lines including their newline (``"line"``). ``tokens_per_second`` sleeps
    ``1/tps`` between content chunks; ``first_byte_delay`` sleeps before the response
    headers are sent. ``cut_after_chunks=N`` aborts the connection after N content
    chunks (or after all of them, if fewer), with no finish_reason and no
    ``data: [DONE]``; a non-streamed request gets its connection closed without any
    response. ``usage`` sends the final usage
    chunk when the request asks for ``stream_options.include_usage``.
    """
    if chunk not in ("token", "char", "line"):
        raise ValueError(f"chunk must be 'token', 'char' or 'line', not {chunk!r}")
    return TextStep(
        text, tokens_per_second, first_byte_delay, cut_after_chunks, usage, finish_reason, chunk
    )


def tool_call_reply(
    calls: list[tuple[str, dict[str, Any] | str]],
    *,
    text: str = "",
    fragments: int = 3,
    tokens_per_second: float | None = None,
) -> ToolCallStep:
    """Answer with tool calls ``[(name, arguments), ...]``, finish_reason ``tool_calls``.

    Dict arguments are JSON-encoded; a str is sent verbatim (for malformed-JSON tests).
    Each call's arguments string is streamed in ``fragments`` pieces, as OpenAI does.
    Optional ``text`` is streamed as content before the calls.
    """
    encoded = tuple(
        (name, args if isinstance(args, str) else json.dumps(args)) for name, args in calls
    )
    return ToolCallStep(encoded, text, max(1, fragments), tokens_per_second)


def error_reply(
    status: int,
    message: str = "scripted error",
    *,
    times: int = 1,
    retry_after_ms: int | None = None,
    code: str | None = None,
) -> ErrorStep:
    """Answer with HTTP ``status`` and an OpenAI error body.

    The step stays at the head of the queue for ``times`` requests (use a large number
    for "fail forever"). ``retry_after_ms`` sets the ``retry-after-ms`` header, which
    the openai SDK honours instead of its exponential backoff.
    """
    return ErrorStep(status, message, max(1, times), retry_after_ms, code)


def hang_reply() -> HangStep:
    """Accept the request and never answer until the client leaves or the server stops."""
    return HangStep()


@dataclass(frozen=True)
class ChunkRecord:
    """One SSE ``data:`` payload sent by the server."""

    request_index: int  # index into ScriptedModelServer.requests
    time: float  # time.perf_counter() just after the chunk was flushed
    content: str  # text delta, "" if none
    raw: str  # the JSON payload (or "[DONE]")


ScriptEntry = Step | Callable[[dict[str, Any]], Step]


def split_text(text: str, mode: Literal["token", "char", "line"] = "token") -> list[str]:
    """Split ``text`` into the chunks that :func:`text_reply` streams."""
    if mode == "char":
        return list(text)
    if mode == "line":
        return text.splitlines(keepends=True)
    return _TOKEN_RE.findall(text)


def _message_text(messages: Any) -> str:
    """Concatenate the text of chat ``messages`` (str or content-part lists), or of
    Responses input items (their ``content`` or ``output``)."""
    parts: list[str] = []
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict):
            continue
        content = message.get("content", message.get("output"))
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts += [p["text"] for p in content if isinstance(p, dict) and "text" in p]
    return "\n".join(parts)


class ScriptedModelServer:
    """An OpenAI-compatible Chat Completions server that replays scripted steps.

    Run it on the current event loop with :meth:`start`/:meth:`stop`, or on its own
    loop in a daemon thread with :meth:`start_in_thread`/:meth:`stop_in_thread`.
    ``enqueue``, ``clear``, ``requests`` and ``chunk_log`` are safe to use from any
    thread.
    """

    def __init__(self, *, default: Step | None = None) -> None:
        """``default`` answers requests when the queue is empty (None -> HTTP 500)."""
        self.default = default
        self.base_url = ""
        self.requests: list[dict[str, Any]] = []
        self.chunk_log: list[ChunkRecord] = []
        self._queue: list[ScriptEntry] = []
        self._head_uses = 0  # requests already answered by the head ErrorStep
        self._models: list[str] = [_DEFAULT_MODEL]
        self._lock = threading.Lock()
        self._call_ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._thread_loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        """Bind 127.0.0.1 on a free port and start serving; sets :attr:`base_url`."""
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._handle_chat)
        app.router.add_post("/v1/responses", self._handle_responses)
        app.router.add_get("/v1/models", self._handle_models)
        self._stopping = asyncio.Event()
        # handler_cancellation: a client that disconnects cancels its handler.
        self._runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}/v1"

    async def stop(self) -> None:
        """Release hanging requests, close all connections and stop listening."""
        if self._stopping is not None:
            self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start_in_thread(self) -> None:
        """Run the server on a new event loop in a daemon thread; return once listening."""
        if self._thread is not None:
            raise RuntimeError("server thread already running")
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # re-raised in the starting thread
                failure.append(exc)
            ready.set()
            if not failure:
                loop.run_forever()

        self._thread_loop = loop
        self._thread = threading.Thread(target=run, name="scripted-model-server", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            loop.close()
            self._thread = self._thread_loop = None
            raise failure[0]

    def stop_in_thread(self) -> None:
        """Stop a server started with :meth:`start_in_thread` and join its thread."""
        loop, thread = self._thread_loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self.stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()
        self._thread = self._thread_loop = None

    def enqueue(self, *steps: Step | Callable[[dict[str, Any]], Step]) -> None:
        """Append steps to the FIFO script; each chat request consumes one.

        A callable gets the request body and returns the step to play; it is consumed
        by one request even if it returns an ``error_reply(times=N)``.
        """
        with self._lock:
            self._queue.extend(steps)

    def clear(self) -> None:
        """Drop the scripted queue and forget recorded ``requests`` and ``chunk_log``."""
        with self._lock:
            self._queue.clear()
            self._head_uses = 0
            self.requests.clear()
            self.chunk_log.clear()

    def _next_step(self, body: dict[str, Any]) -> Step | None:
        """Pop the step answering ``body``; an ErrorStep stays for ``times`` requests."""
        with self._lock:
            if not self._queue:
                return self.default
            entry = self._queue[0]
            if isinstance(entry, ErrorStep):
                self._head_uses += 1
                if self._head_uses < entry.times:
                    return entry
            self._queue.pop(0)
            self._head_uses = 0
        # A callable is consumed once, whatever it returns; call it outside the lock.
        return entry(body) if callable(entry) else entry

    async def _handle_models(self, request: web.Request) -> web.Response:
        with self._lock:
            names = list(self._models)
        data = [{"id": n, "object": "model", "created": 0, "owned_by": "scripted"} for n in names]
        return web.json_response({"object": "list", "data": data})

    async def _handle_chat(self, request: web.Request) -> web.StreamResponse:
        return await self._handle(request, "chat")

    async def _handle_responses(self, request: web.Request) -> web.StreamResponse:
        return await self._handle(request, "responses")

    async def _handle(
        self, request: web.Request, api: Literal["chat", "responses"]
    ) -> web.StreamResponse:
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("body is not a JSON object")
        except ValueError as exc:
            return _error_response(400, f"invalid JSON body: {exc}", "invalid_json")
        with self._lock:
            self.requests.append(body)
            index = len(self.requests) - 1
            model = str(body.get("model") or _DEFAULT_MODEL)
            if model not in self._models:
                self._models.append(model)

        step = self._next_step(body)
        if step is None:
            return _error_response(500, "scripted model server: no scripted reply left")
        if isinstance(step, ErrorStep):
            return _error_response(step.status, step.message, step.code, step.retry_after_ms)
        if isinstance(step, HangStep):
            assert self._stopping is not None
            await self._stopping.wait()  # or cancelled when the client disconnects
            _abort(request)
            return web.Response(status=503)
        if isinstance(step, TextStep) and step.first_byte_delay > 0:
            await asyncio.sleep(step.first_byte_delay)
        if api == "responses":
            if not body.get("stream"):
                return _error_response(400, "scripted model server: /v1/responses streams only")
            return await self._stream_responses(request, index, body, model, step)
        if body.get("stream"):
            return await self._stream(request, index, body, model, step)
        return _complete(request, index, body, model, step, self._call_ids)

    async def _stream(
        self,
        request: web.Request,
        index: int,
        body: dict[str, Any],
        model: str,
        step: TextStep | ToolCallStep,
    ) -> web.StreamResponse:
        """Send ``step`` as SSE chunks, flushing each one."""
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        base = {
            "id": f"chatcmpl-scripted-{index}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }

        async def send(payload: dict[str, Any] | str, content: str = "") -> None:
            raw = payload if isinstance(payload, str) else json.dumps({**base, **payload})
            await response.write(f"data: {raw}\n\n".encode())
            with self._lock:
                self.chunk_log.append(ChunkRecord(index, time.perf_counter(), content, raw))

        def choice(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        await send(choice({"role": "assistant", "content": ""}))
        delay = 1.0 / step.tokens_per_second if step.tokens_per_second else 0.0
        deltas = _deltas(step, self._call_ids)
        cut = step.cut_after_chunks if isinstance(step, TextStep) else None
        for count, delta in enumerate(deltas[:cut]):
            if count and delay:
                await asyncio.sleep(delay)
            await send(choice(delta), delta.get("content") or "")
        if cut is not None:
            _abort(request)
            return response
        finish = step.finish_reason if isinstance(step, TextStep) else "tool_calls"
        await send(choice({}, finish))
        options = body.get("stream_options") or {}
        want_usage = isinstance(step, ToolCallStep) or step.usage
        if want_usage and isinstance(options, dict) and options.get("include_usage"):
            await send({"choices": [], "usage": _usage(body, len(deltas))})
        await send("[DONE]")
        await response.write_eof()
        return response

    async def _stream_responses(
        self,
        request: web.Request,
        index: int,
        body: dict[str, Any],
        model: str,
        step: TextStep | ToolCallStep,
    ) -> web.StreamResponse:
        """Send ``step`` as Responses API events (``event: <type>`` + ``data: <json>``)."""
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        numbers = itertools.count()

        async def send(kind: str, payload: dict[str, Any], content: str = "") -> None:
            data = {"type": kind, "sequence_number": next(numbers), **payload}
            raw = json.dumps(data)
            await response.write(f"event: {kind}\ndata: {raw}\n\n".encode())
            with self._lock:
                self.chunk_log.append(ChunkRecord(index, time.perf_counter(), content, raw))

        mode = step.chunk if isinstance(step, TextStep) else "token"
        calls = step.calls if isinstance(step, ToolCallStep) else ()
        fragments = step.fragments if isinstance(step, ToolCallStep) else 1
        pieces = split_text(step.text, mode)
        plan = response_events(pieces, calls, fragments, index, self._call_ids)
        head = response_object(index, model, "in_progress", [])
        await send("response.created", {"response": head})
        delay = 1.0 / step.tokens_per_second if step.tokens_per_second else 0.0
        cut = step.cut_after_chunks if isinstance(step, TextStep) else None
        deltas = 0
        for kind, payload in plan.events:
            if kind.endswith(".delta"):
                if cut is not None and deltas >= cut:
                    _abort(request)
                    return response
                if deltas and delay:
                    await asyncio.sleep(delay)
                deltas += 1
            await send(kind, payload, payload.get("delta", "") if "text" in kind else "")
        if cut is not None:
            _abort(request)
            return response
        cut_short = isinstance(step, TextStep) and step.finish_reason == "length"
        status = "incomplete" if cut_short else "completed"
        final = response_object(index, model, status, plan.items)
        if cut_short:
            final["incomplete_details"] = {"reason": "max_output_tokens"}
        if isinstance(step, ToolCallStep) or step.usage:
            final["usage"] = response_usage(_usage(body, deltas))
        await send(f"response.{status}", {"response": final})
        await response.write_eof()
        return response


def _deltas(step: TextStep | ToolCallStep, call_ids: itertools.count[int]) -> list[dict[str, Any]]:
    """The content and tool-call deltas of ``step``, one per SSE chunk."""
    mode = step.chunk if isinstance(step, TextStep) else "token"
    deltas: list[dict[str, Any]] = [{"content": p} for p in split_text(step.text, mode)]
    for i, (name, args) in enumerate(step.calls if isinstance(step, ToolCallStep) else ()):
        head = {"index": i, "id": f"call_{next(call_ids)}", "type": "function"}
        deltas.append({"tool_calls": [{**head, "function": {"name": name, "arguments": ""}}]})
        size = -(-len(args) // step.fragments) or 1  # ceil division
        for start in range(0, len(args), size):
            piece = {"index": i, "function": {"arguments": args[start : start + size]}}
            deltas.append({"tool_calls": [piece]})
    return deltas


def _complete(
    request: web.Request,
    index: int,
    body: dict[str, Any],
    model: str,
    step: TextStep | ToolCallStep,
    call_ids: itertools.count[int],
) -> web.StreamResponse:
    """Build the non-streamed ``chat.completion`` answer for ``step``."""
    if isinstance(step, TextStep) and step.cut_after_chunks is not None:
        _abort(request)  # the client sees the connection drop without a response
        return web.Response(status=503)
    deltas = _deltas(step, call_ids)
    message: dict[str, Any] = {"role": "assistant", "content": step.text or None}
    calls: list[dict[str, Any]] = []  # reassembled from the stream deltas
    for tc in (t for d in deltas for t in d.get("tool_calls", [])):
        if "id" in tc:
            calls.append({"id": tc["id"], "type": "function", "function": dict(tc["function"])})
        else:
            calls[-1]["function"]["arguments"] += tc["function"]["arguments"]
    if calls:
        message["tool_calls"] = calls
    finish = step.finish_reason if isinstance(step, TextStep) else "tool_calls"
    result: dict[str, Any] = {
        "id": f"chatcmpl-scripted-{index}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
    }
    if not isinstance(step, TextStep) or step.usage:
        result["usage"] = _usage(body, len(deltas))
    return web.json_response(result)


def _usage(body: dict[str, Any], completion_tokens: int) -> dict[str, int]:
    """Plausible usage counts: prompt = pseudo-tokens of the request messages."""
    prompt = len(split_text(_message_text(body.get("messages", body.get("input")))))
    total = prompt + completion_tokens
    return {"prompt_tokens": prompt, "completion_tokens": completion_tokens, "total_tokens": total}


def _error_response(
    status: int,
    message: str,
    code: str | None = None,
    retry_after_ms: int | None = None,
) -> web.Response:
    """An OpenAI-style error: ``{"error": {"message", "type", "code"}}``."""
    kind = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    headers = {"retry-after-ms": str(retry_after_ms)} if retry_after_ms is not None else None
    error = {"message": message, "type": kind, "param": None, "code": code}
    return web.json_response({"error": error}, status=status, headers=headers)


def _abort(request: web.Request) -> None:
    """Close the connection at once (buffered bytes are flushed, the body stays open)."""
    if request.transport is not None:
        request.transport.close()
