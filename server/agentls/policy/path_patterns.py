"""Gitignore-style path patterns matched fast: the one matcher behind the secret names
(``secrets.py``) and the protected paths (``protected.py``).

``pathspec`` tries pattern after pattern; the command sandbox's scan asks for every
entry of a tree, so where no pattern negates (``!pattern``) a path matches when any
pattern does, and the patterns are joined into one regular expression.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pathspec


class PathPatterns:
    """``matches(path)``: whether gitignore-style ``patterns`` match ``path`` (a
    workspace-relative path, "/" between names, a trailing "/" for a folder)."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.spec = pathspec.GitIgnoreSpec.from_lines(list(patterns))
        regexes = [getattr(p, "regex", None) for p in self.spec.patterns]
        includes = [getattr(p, "include", None) for p in self.spec.patterns]
        self._combined: re.Pattern[str] | None = None
        if all(r is not None for r in regexes) and all(i is True for i in includes):
            parts = [r.pattern.replace("(?P<ps_d>", "(") for r in regexes if r is not None]
            self._combined = re.compile("|".join(f"(?:{p})" for p in parts))

    def matches(self, path: str) -> bool:
        if self._combined is not None:
            return self._combined.match(path) is not None
        return bool(self.spec.match_file(path))
