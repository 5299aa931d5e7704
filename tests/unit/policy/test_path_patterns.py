"""The one gitignore-style matcher behind secret names and protected paths: its fast
combined expression answers as pathspec does, and a negation falls back to pathspec."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from agentls.policy.path_patterns import PathPatterns
from agentls.policy.protected import PROTECTED, ProtectedMatcher

NAMES = st.sampled_from(
    [".vscode", "settings.json", ".git", "hooks", "src", "build.rs", ".eslintrc.json", "a",
     "eslint.config.mjs", ".cargo", "config.toml", "main.py", ".envrc", "x.code-workspace"]
)  # fmt: skip


@given(st.lists(NAMES, min_size=1, max_size=4), st.booleans())
def test_combined_match_agrees_with_pathspec(parts: list[str], is_dir: bool) -> None:
    patterns = PathPatterns(PROTECTED)
    assert patterns._combined is not None
    path = "/".join(parts) + ("/" if is_dir else "")
    assert patterns.matches(path) == bool(patterns.spec.match_file(path))
    assert ProtectedMatcher().matches("/".join(parts), is_dir) == patterns.matches(path)


def test_a_negation_is_left_to_pathspec() -> None:
    patterns = PathPatterns(["*.log", "!keep.log"])
    assert patterns._combined is None
    assert patterns.matches("a/x.log") and not patterns.matches("a/keep.log")
