"""Instruction comments: ``# agent: <text>``, ``// agent: <text>``, any comment syntax."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class Instruction:
    text: str
    column: int  # where the comment marker starts, in code points
    standalone: bool  # nothing but whitespace before the comment


_CLOSERS = r"(?:\*/|-->)?"


@cache
def _pattern(markers: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(m) for m in sorted(markers, key=len, reverse=True))
    return re.compile(
        rf"(?P<marker>(?:{alternatives})+)\s*agent\s*:\s*(?P<text>.*?)\s*{_CLOSERS}\s*$",
        re.IGNORECASE,
    )


def find_instruction(line: str, markers: tuple[str, ...]) -> Instruction | None:
    """The instruction held by a comment on ``line``, if any."""
    if "agent" not in line.lower():  # the hot path: most lines bail out here
        return None
    match = _pattern(markers).search(line)
    if match is None or not match.group("text"):
        return None
    column = match.start("marker")
    return Instruction(match.group("text"), column, not line[:column].strip())


@cache
def _todo_pattern(markers: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(m) for m in sorted(markers, key=len, reverse=True))
    return re.compile(
        rf"(?P<marker>(?:{alternatives})+)\s*(?:TODO|FIXME)\b\s*(?:\([^)]*\))?\s*:?\s*"
        rf"(?P<text>.*?)\s*{_CLOSERS}\s*$"
    )


def find_todo(line: str, markers: tuple[str, ...]) -> Instruction | None:
    """A ``TODO``/``FIXME`` comment on ``line`` (upper case, right after the marker)."""
    if "TODO" not in line and "FIXME" not in line:  # the hot path
        return None
    match = _todo_pattern(markers).search(line)
    if match is None:
        return None
    column = match.start("marker")
    return Instruction(match.group("text"), column, not line[:column].strip())
