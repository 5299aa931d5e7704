"""Prompts are data files beside this module; this fills them in."""

from __future__ import annotations

from functools import cache
from importlib import resources
from string import Template

from agentls.edits.documents import EditorError
from agentls.model.tokens import count_tokens
from agentls.policy.secrets import redact_secrets, scan


class SecretInRegion(EditorError):
    """The region to rewrite holds a secret: it is not sent to a model."""


@cache
def template(name: str) -> Template:
    return Template(resources.files("agentls.agent").joinpath("prompts", name).read_text("utf-8"))


def file_window(text: str, start: int, end: int, budget: int) -> str:
    """The file with the region marked, cut to the lines around it that fit ``budget``.

    Lines are added nearest first, alternating above and below, each counted once, so
    the cost follows the budget, not the file's size. Lines holding secrets around the
    region are hidden; a region holding one raises ``SecretInRegion``.
    """
    region = text[start:end]
    found = scan(region)
    if found:
        raise SecretInRegion(
            f"the text to rewrite holds a secret ({found[0].kind}, its line "
            f"{found[0].line + 1}); agentls sends no secret to a model. Move it to an "
            "environment variable or a secret file, or edit it by hand"
        )
    before = redact_secrets(text[:start]).splitlines(keepends=True)
    after = redact_secrets(text[end:]).splitlines(keepends=True)
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
