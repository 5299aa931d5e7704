"""The arguments of the ``agentls.*`` commands, as typed values.

Every command takes one JSON object (the public contract). pygls structures a command
handler's typed parameter with the server's converter (``@server.command`` on
``def run(ls, args: RunArgs)``: ``_prepare_command_arguments`` in pygls'
``protocol/language_server.py``), and answers a conversion error with -32602.
``converter()`` is pygls' own converter plus strict hooks for these classes:
camelCase keys (``taskId``), a string must be a string and an integer an integer (no
``"3"`` or ``true`` taken for 3), keys not known are ignored. A bad object is refused
with one message naming each bad key: ``Invalid Params: bad arguments: instruction is
required; range.start.line must be an integer, not str``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal, NewType

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn
from pygls.protocol import default_converter

from agentls.edits.text import Position

Text = NewType("Text", str)  # a string with something in it
Count = NewType("Count", int)  # a positive integer
Mode = Literal["edit", "plan", "ask"]
MODES = ("edit", "plan", "ask")


class BadArguments(ValueError):
    pass


@attrs.frozen
class PositionArg:
    line: int
    character: int

    def position(self) -> Position:
        return Position(self.line, self.character)


@attrs.frozen
class RangeArg:
    start: PositionArg
    end: PositionArg


@attrs.frozen
class RunArgs:
    """``agentls.run {instruction, uri?, range?, position?, mode?}``."""

    instruction: Text
    uri: Text | None = None
    range: RangeArg | None = None
    position: PositionArg | None = None  # where the full agent starts (no range)
    mode: Mode = "edit"

    @property
    def start(self) -> Position | None:
        return self.range.start.position() if self.range else None

    @property
    def end(self) -> Position | None:
        return self.range.end.position() if self.range else None

    @property
    def at(self) -> Position | None:
        return self.position.position() if self.position else None


@attrs.frozen
class TaskArgs:
    """``agentls.cancel/accept/undo {taskId?}`` (none: every task, or the last one)."""

    task_id: Text | None = attrs.field(default=None, alias="taskId")


@attrs.frozen
class ContextArgs:
    """``agentls.context {uri, position, budget?}``."""

    uri: Text
    position: PositionArg
    budget: Count | None = None


@attrs.frozen
class NoArgs:
    """``agentls.status {}``."""


COMMAND_ARGUMENTS = (RunArgs, TaskArgs, ContextArgs, NoArgs)


def converter() -> cattrs.Converter:
    """pygls' converter, with the strict hooks of the command arguments."""
    pygls_converter: Callable[[], cattrs.Converter] = default_converter
    outer = pygls_converter()
    inner = cattrs.Converter()
    inner.register_structure_hook(str, _string)
    inner.register_structure_hook(Text, _text)
    inner.register_structure_hook(int, _integer)
    inner.register_structure_hook(Count, _count)
    inner.register_structure_hook_func(lambda kind: kind == Mode, _mode)
    for cls in (PositionArg, RangeArg, *COMMAND_ARGUMENTS):
        fn = make_dict_structure_fn(cls, inner, _cattrs_use_alias=True)
        inner.register_structure_hook(cls, _object_of(fn))

    def structure(value: Any, cls: type[Any]) -> Any:
        try:
            return inner.structure(value, cls)
        except cattrs.BaseValidationError as error:
            found = cattrs.transform_error(error, path="", format_exception=_said)
            raise BadArguments("bad arguments: " + "; ".join(map(_named, found))) from None
        except TypeError as error:  # not an object at all
            raise BadArguments(f"bad arguments: the arguments {error}") from None

    for cls in COMMAND_ARGUMENTS:
        outer.register_structure_hook(cls, structure)
    return outer


# -- the strict hooks ---------------------------------------------------------------------
def _object_of(structure: Any) -> Any:
    def hook(value: Any, cls: type[Any]) -> Any:
        if not isinstance(value, dict):
            raise TypeError(f"must be one JSON object, not {_kind(value)}")
        return structure(value, cls)

    return hook


def _string(value: Any, _: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"must be a string, not {_kind(value)}")
    return value


def _text(value: Any, _: Any) -> str:
    if not _string(value, _).strip():
        raise ValueError("must be a non-empty string")
    return str(value)


def _integer(value: Any, _: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"must be an integer, not {_kind(value)}")
    return value


def _count(value: Any, _: Any) -> int:
    if _integer(value, _) < 1:
        raise ValueError("must be a positive integer")
    return int(value)


def _mode(value: Any, _: Any) -> str:
    if value not in MODES:
        raise ValueError(f"must be {', '.join(MODES[:-1])} or {MODES[-1]}, not {value!r}"[:120])
    return str(value)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _said(error: BaseException, _: Any) -> str:
    return "is required" if isinstance(error, KeyError) else str(error)


def _named(message: str) -> str:
    """``is required @ .range.start`` -> ``range.start is required`` (camelCase keys)."""
    said, _, path = message.rpartition(" @ ")
    path = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), path.lstrip("."))
    return f"{path} {said}" if path else said
