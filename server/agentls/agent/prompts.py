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
    """The file with the region marked, cut to the lines around it that fit ``budget``.

    Lines are added nearest first, alternating above and below, each counted once, so
    the cost follows the budget, not the file's size.
    """
    before = text[:start].splitlines(keepends=True)
    after = text[end:].splitlines(keepends=True)
    region = text[start:end]
    body = region if region.endswith("\n") else region + "\n"
    spent = count_tokens(body) + 8
    above = below = 0
    while above < len(before) or below < len(after):
        grew = False
        if above < len(before):
            cost = count_tokens(before[len(before) - 1 - above])
            if spent + cost <= budget:
                spent += cost
                above += 1
                grew = True
        if below < len(after):
            cost = count_tokens(after[below])
            if spent + cost <= budget:
                spent += cost
                below += 1
                grew = True
        if not grew:
            break
    head = "".join(before[len(before) - above :])
    if head and not head.endswith("\n"):
        head += "\n"
    return f"{head}<<<REGION\n{body}REGION>>>\n{''.join(after[:below])}"
