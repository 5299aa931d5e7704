"""The tools a model may call in a task: their specs, and one way to run any of them.

A call's arguments arrive as JSON text, maybe malformed; a tool may be unknown or
refuse (``ToolDenied``). Every outcome is a ``ToolOutcome`` whose text goes back to
the model, so that it can correct itself on the next turn. Outputs are capped.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from agentls.model.base import ToolCall, ToolSpec
from agentls.tools.workspace import ToolDenied

log = logging.getLogger(__name__)

MAX_RESULT_CHARS = 30_000  # a tool answer longer than this is cut (head and tail kept)

Handler = Callable[[dict[str, Any]], Awaitable[str] | str]
ToolKind = Literal["read", "write", "command"]
"""What a tool does: reads the workspace, writes it, or runs a command. The policy
offers the tools of a task by their kind (``agent/run.py``)."""


@dataclass(frozen=True)
class ToolOutcome:
    call: ToolCall
    text: str  # what the model reads
    ok: bool


@dataclass(frozen=True)
class Tool:
    spec: ToolSpec
    run: Handler
    # Safe to run at once with other such calls (reads, explorers); a plain function
    # of this kind runs in a worker thread, so that a big search never stalls the server.
    parallel: bool = False
    kind: ToolKind = "read"


def _cut(text: str) -> str:
    if len(text) <= MAX_RESULT_CHARS:
        return text
    half = MAX_RESULT_CHARS // 2
    return f"{text[:half]}\n… ({len(text) - 2 * half} characters cut) …\n{text[-half:]}"


class Toolbox:
    def __init__(self, tools: list[Tool]) -> None:
        self.tools = {t.spec.name: t for t in tools}

    @property
    def specs(self) -> list[ToolSpec]:
        return [t.spec for t in self.tools.values()]

    def add(self, tool: Tool) -> None:
        self.tools[tool.spec.name] = tool

    def is_parallel(self, name: str) -> bool:
        tool = self.tools.get(name)
        return tool is not None and tool.parallel

    def reads(self, name: str) -> bool:
        """The tool only reads (its result is all it does)."""
        tool = self.tools.get(name)
        return tool is not None and tool.kind == "read"

    async def run(self, call: ToolCall) -> ToolOutcome:
        tool = self.tools.get(call.name)
        if tool is None:
            known = ", ".join(sorted(self.tools))
            return ToolOutcome(
                call, f"error: no tool named {call.name!r}; the tools: {known}", False
            )
        try:
            arguments = json.loads(call.arguments or "{}")
        except (ValueError, RecursionError) as error:  # (nested past the parser's depth)
            return ToolOutcome(
                call,
                f"error: the arguments of {call.name} are not valid JSON ({error}); "
                "send one JSON object",
                False,
            )
        if not isinstance(arguments, dict):
            return ToolOutcome(
                call, f"error: the arguments of {call.name} must be an object", False
            )
        problem = _check(tool.spec, arguments)
        if problem:
            return ToolOutcome(call, f"error: {call.name}: {problem}", False)
        try:
            if tool.parallel and not inspect.iscoroutinefunction(tool.run):
                result = await asyncio.to_thread(tool.run, arguments)
            else:
                result = tool.run(arguments)
            text = await result if not isinstance(result, str) else result
        except ToolDenied as denied:
            return ToolOutcome(call, f"error: {denied}", False)
        except Exception as error:  # a tool's own failure: the task goes on, the log says why
            log.exception("tool %s failed", call.name)
            return ToolOutcome(call, f"error: {call.name} failed: {error}", False)
        return ToolOutcome(call, _cut(text), True)


_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "object": dict,
    "array": list,
}


def _check(tool: ToolSpec, arguments: dict[str, Any]) -> str:
    """What is wrong with the arguments by the spec's schema (names and JSON types)."""
    properties: dict[str, Any] = tool.parameters.get("properties", {})
    missing = [k for k in tool.parameters.get("required", []) if k not in arguments]
    if missing:
        return "missing " + ", ".join(missing)
    unknown = [k for k in arguments if k not in properties]
    if unknown:
        return f"unknown argument {unknown[0]!r}; it takes " + (", ".join(properties) or "none")
    for key, value in arguments.items():
        want = properties[key].get("type")
        python = _TYPES.get(want) if isinstance(want, str) else None
        wrong_bool = isinstance(value, bool) and want in ("integer", "number")
        if python is not None and (not isinstance(value, python) or wrong_bool):
            return f"{key} must be a {want}"
    return ""


def spec(name: str, description: str, properties: dict[str, Any], required: list[str]) -> ToolSpec:
    return ToolSpec(
        name,
        description,
        {
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        },
    )
