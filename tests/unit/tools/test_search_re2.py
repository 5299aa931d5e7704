"""search in RE2: linear time, lines as grep has them, a deadline, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentls.context.files import WorkspaceFiles
from agentls.tools.read import search
from agentls.tools.workspace import ToolDenied, Workspace


def workspace(root: Path, buffers: dict[str, str] | None = None) -> Workspace:
    for n in range(5):
        (root / f"f{n}.txt").write_text(f"alpha {n}\nbeta\n")
    return Workspace(WorkspaceFiles(root), buffers=(buffers or {}).get)


def test_a_match_never_spans_lines(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    assert search(ws, r"alpha 1\sbeta").startswith("no match")
    assert search(ws, r"^beta$").count("beta") == 5


def test_patterns_re2_cannot_take_are_a_clear_error(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    for pattern in (r"(?<=a)lpha", r"(a)\1", "a{1000}{1000}", "("):
        with pytest.raises(ToolDenied, match="RE2 syntax"):
            search(ws, pattern)


def test_the_deadline_says_what_was_not_searched(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    answer = search(ws, "alpha", seconds=0)
    assert "not searched: 5 more files: the search stopped after 0 s" in answer


def test_an_unpaired_surrogate_in_a_buffer_is_searched(tmp_path: Path) -> None:
    ws = workspace(tmp_path, {"f0.txt": "alpha \ud800 here\n"})
    assert "f0.txt:1: alpha" in search(ws, "alpha")
