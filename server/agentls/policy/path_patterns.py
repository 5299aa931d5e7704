"""Gitignore-style path patterns matched fast: the one matcher behind the secret names
(``secrets.py``) and the protected paths (``protected.py``).

``pathspec`` tries pattern after pattern; the command sandbox's scan asks for every
entry of a tree, so where no pattern negates (``!pattern``) a path matches when any
pattern does, and the patterns are joined into one regular expression.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

import pathspec


class PathPatterns:
    """``matches(path)``: whether gitignore-style ``patterns`` match ``path`` (a
    workspace-relative path, "/" between names, a trailing "/" for a folder)."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.spec, self._combined = _compiled(tuple(patterns))

    def matches(self, path: str) -> bool:
        if self._combined is not None:
            return self._combined.match(path) is not None
        return bool(self.spec.match_file(path))


@functools.lru_cache(maxsize=64)
def _compiled(
    patterns: tuple[str, ...],
) -> tuple[pathspec.GitIgnoreSpec, re.Pattern[str] | None]:
    """The spec and the combined expression of ``patterns`` (built once: the protected
    paths and secret names are matched by many matchers of the same patterns)."""
    spec = pathspec.GitIgnoreSpec.from_lines(list(patterns))
    regexes = [getattr(p, "regex", None) for p in spec.patterns]
    includes = [getattr(p, "include", None) for p in spec.patterns]
    if all(r is not None for r in regexes) and all(i is True for i in includes):
        parts = [r.pattern.replace("(?P<ps_d>", "(") for r in regexes if r is not None]
        return spec, re.compile("|".join(f"(?:{p})" for p in parts))
    return spec, None
