"""What a selection is made of: snippets, the file at hand, and the packer that keeps
them under a token budget (exact o200k counts of what the prompt holds)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentls.context.tags import Definition, FileTags
from agentls.model.tokens import count_tokens
from agentls.policy.secrets import redact_secrets

SCOPE_KINDS = frozenset({"function", "method", "class", "interface", "type", "module"})


@dataclass(frozen=True)
class Snippet:
    path: str  # relative to the workspace
    start_line: int  # 1-based, inclusive
    end_line: int
    reason: str
    text: str
    tokens: int = 0  # of the rendered block (header + text), what the prompt holds

    def render(self) -> str:
        return render_block(self.path, self.start_line, self.end_line, self.reason, self.text)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "startLine": self.start_line,
            "endLine": self.end_line,
            "tokens": self.tokens,
            "reason": self.reason,
            "text": self.text,
        }


def render_block(path: str, start: int, end: int, reason: str, text: str) -> str:
    """A snippet as the prompt holds it (the reason is for the user, not the model)."""
    if reason.startswith("outline"):
        return f"### {path} (outline)\n{text.rstrip()}\n"
    where = f"{start}" if start == end else f"{start}-{end}"
    return f"### {path}:{where}\n{text.rstrip()}\n"


@dataclass
class Selection:
    snippets: list[Snippet]
    budget: int

    @property
    def total_tokens(self) -> int:
        return sum(s.tokens for s in self.snippets)

    def render(self) -> str:
        return "\n".join(s.render() for s in self.snippets)

    def to_json(self) -> dict[str, Any]:
        return {"snippets": [s.to_json() for s in self.snippets], "totalTokens": self.total_tokens}


@dataclass(frozen=True)
class Here:
    """The file the task is in, as the editor has it."""

    path: str
    language: str
    lines: list[str]
    tags: FileTags
    line: int  # 0-based
    recent: tuple[tuple[str, int], ...] = ()  # (path, 0-based line), newest first
    text: str = ""  # the lines joined (given, so it need not be joined again)

    def __post_init__(self) -> None:
        if not self.text and self.lines:
            object.__setattr__(self, "text", "\n".join(self.lines))


class Packer:
    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self.snippets: list[Snippet] = []
        self.taken: dict[str, list[tuple[int, int]]] = {}
        self._dropped: tuple[int, Snippet] | None = None

    def find(self, path: str, start: int, end: int) -> Snippet | None:
        for snippet in self.snippets:
            if (snippet.path, snippet.start_line - 1, snippet.end_line - 1) == (path, start, end):
                return snippet
        return None

    def drop(self, snippet: Snippet) -> None:
        index = self.snippets.index(snippet)
        self.snippets.pop(index)
        self.used -= snippet.tokens
        span = (snippet.start_line - 1, snippet.end_line - 1)
        if span in self.taken.get(snippet.path, []):
            self.taken[snippet.path].remove(span)
        self._dropped = (index, snippet)

    def put_back(self, snippet: Snippet) -> None:
        assert self._dropped is not None and self._dropped[1] is snippet
        index = self._dropped[0]
        self.snippets.insert(index, snippet)
        self.used += snippet.tokens
        self.taken.setdefault(snippet.path, []).append(
            (snippet.start_line - 1, snippet.end_line - 1)
        )

    def covered(self, path: str, start: int, end: int) -> bool:
        return any(s <= start and end <= e for s, e in self.taken.get(path, ()))

    def overlaps(self, path: str, start: int, end: int) -> bool:
        return any(start <= e and s <= end for s, e in self.taken.get(path, ()))

    def add(
        self,
        path: str,
        start: int,
        end: int,
        reason: str,
        text: str,
        limit: int,
        verbatim: bool = True,
    ) -> bool:
        """Add lines ``start..end`` (0-based, inclusive) if they fit under ``limit``.

        ``verbatim``: the text is those lines (not an outline), so they count as shown."""
        if self.covered(path, start, end):
            return False
        text = redact_secrets(text, path)  # every snippet of a prompt passes here
        tokens = count_tokens(render_block(path, start + 1, end + 1, reason, text))
        if self.used + tokens > min(limit, self.budget):
            return False
        self.used += tokens
        self.snippets.append(Snippet(path, start + 1, end + 1, reason, text.rstrip(), tokens))
        if verbatim:
            self.taken.setdefault(path, []).append((start, end))
        return True


def lines_text(lines: list[str], start: int, end: int) -> str:
    return "\n".join(lines[start : end + 1])


def innermost(definitions: tuple[Definition, ...], line: int) -> Definition | None:
    best: Definition | None = None
    for d in definitions:
        if d.kind in SCOPE_KINDS and d.start <= line <= d.end:
            if best is None or (d.end - d.start) <= (best.end - best.start):
                best = d
    return best
