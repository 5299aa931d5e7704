"""The Responses API's wire format for the scripted model server (``model_server.py``):
the events of one streamed response and the response object they carry."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass
class ResponsePlan:
    events: list[tuple[str, dict[str, Any]]]
    items: list[dict[str, Any]]  # the output items, done


def response_events(
    text_pieces: list[str],
    calls: Sequence[tuple[str, str]],
    fragments: int,
    index: int,
    call_ids: Iterator[int],
) -> ResponsePlan:
    """The events of a Responses stream between created and completed: the text (as
    ``text_pieces``), then each call ``(name, JSON arguments)`` in ``fragments`` deltas."""
    text = "".join(text_pieces)
    events: list[tuple[str, dict[str, Any]]] = []
    items: list[dict[str, Any]] = []
    if text:
        at, item_id = len(items), f"msg_scripted_{index}"
        message: dict[str, Any] = {
            "type": "message", "id": item_id, "role": "assistant", "status": "in_progress",
            "content": [],
        }  # fmt: skip
        part = {"type": "output_text", "text": "", "annotations": []}
        where = {"item_id": item_id, "output_index": at, "content_index": 0}
        events.append(("response.output_item.added", {"output_index": at, "item": message}))
        events.append(("response.content_part.added", {**where, "part": part}))
        for piece in text_pieces:
            events.append(("response.output_text.delta", {**where, "delta": piece, "logprobs": []}))
        events.append(("response.output_text.done", {**where, "text": text, "logprobs": []}))
        whole = {**part, "text": text}
        events.append(("response.content_part.done", {**where, "part": whole}))
        done = {**message, "status": "completed", "content": [whole]}
        events.append(("response.output_item.done", {"output_index": at, "item": done}))
        items.append(done)
    for name, args in calls:
        at, item_id = len(items), f"fc_scripted_{index}_{len(items)}"
        call = {
            "type": "function_call", "id": item_id, "call_id": f"call_{next(call_ids)}",
            "name": name, "arguments": "", "status": "in_progress",
        }  # fmt: skip
        events.append(("response.output_item.added", {"output_index": at, "item": call}))
        size = -(-len(args) // fragments) or 1  # ceil division
        for start in range(0, len(args), size):
            part_of_args = args[start : start + size]
            delta = {"item_id": item_id, "output_index": at, "delta": part_of_args}
            events.append(("response.function_call_arguments.delta", delta))
        of_call: dict[str, Any] = {"item_id": item_id, "output_index": at}
        events.append(("response.function_call_arguments.done", {**of_call, "arguments": args}))
        done = {**call, "arguments": args, "status": "completed"}
        events.append(("response.output_item.done", {"output_index": at, "item": done}))
        items.append(done)
    return ResponsePlan(events, items)


def response_object(
    index: int, model: str, status: str, output: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "id": f"resp_scripted_{index}",
        "object": "response",
        "created_at": int(time.time()),
        "model": model,
        "status": status,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "error": None,
        "incomplete_details": None,
    }


def response_usage(usage: dict[str, int]) -> dict[str, Any]:
    """Chat Completions usage counts as the Responses API reports them."""
    return {
        "input_tokens": usage["prompt_tokens"],
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": usage["completion_tokens"],
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": usage["total_tokens"],
    }
