"""Prompts are data files beside this module; this fills them in."""

from __future__ import annotations

from functools import cache
from importlib import resources
from string import Template

from agentls.model.tokens import count_tokens


@cache
def template(name: str) -> Template:
    return Template(resources.files("agentls.agent").joinpath("prompts", name).read_text("utf-8"))


def file_window(text: str, start: int, end: int, budget: int) -> str:
    """The file with the region marked, cut to the most lines around it that fit ``budget``."""
    before = text[:start].splitlines(keepends=True)
    after = text[end:].splitlines(keepends=True)
    region = text[start:end]

    def window(radius: int) -> str:
        head = "".join(before[max(0, len(before) - radius) :])
        tail = "".join(after[:radius])
        if head and not head.endswith("\n"):
            head += "\n"
        body = region if region.endswith("\n") else region + "\n"
        return f"{head}<<<REGION\n{body}REGION>>>\n{tail}"

    lo, hi = 0, max(len(before), len(after))
    if count_tokens(window(hi)) <= budget:
        return window(hi)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count_tokens(window(mid)) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return window(lo)
