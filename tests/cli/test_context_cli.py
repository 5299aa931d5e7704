"""``agentls context PATH:LINE`` from a terminal: the selection, as text or JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.unit.context.workspace import SECRET, make_workspace


def agentls(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentls", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_json_selection_of_a_position(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    cache = str(tmp_path / "cache")
    done = agentls(
        "context", "app/service.py:7:5", "--budget", "600", "--json", "--workspace", ".",
        "--cache-dir", cache, cwd=root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)  # stdout holds the JSON and nothing else
    assert set(result) == {"snippets", "totalTokens"}
    assert 0 < result["totalTokens"] <= 600
    for snippet in result["snippets"]:
        assert set(snippet) == {"path", "startLine", "endLine", "tokens", "reason", "text"}
        assert not snippet["path"].startswith("/")
        assert 1 <= snippet["startLine"] <= snippet["endLine"]
    places = {(s["path"], s["startLine"]) for s in result["snippets"]}
    assert ("app/service.py", 5) in places and ("app/models.py", 1) in places
    assert SECRET not in done.stdout
    assert "index:" in done.stderr  # what the index held, on stderr
    again = agentls(
        "context", "app/service.py:7:5", "--budget", "600", "--json", "--workspace", ".",
        "--cache-dir", cache, cwd=root,
    )  # fmt: skip
    assert again.stdout == done.stdout  # the same input, byte-identical output
    assert "(0 parsed)" in again.stderr  # the index came from the cache


def test_text_output_and_bad_targets(tmp_path: Path) -> None:
    root = make_workspace(tmp_path / "ws")
    cache = str(tmp_path / "cache")
    done = agentls("context", "app/service.py:6", "--cache-dir", cache, cwd=root)
    assert done.returncode == 0, done.stderr
    assert (
        "--- app/service.py:5-8" in done.stdout and "the enclosing function register" in done.stdout
    )
    assert done.stdout.rstrip().splitlines()[-1].startswith("--- total ")
    for target, message in (
        ("app/service.py", "PATH:LINE"),
        ("nope.py:3", "no such file"),
        ("app/service.py:0", "start at 1"),
    ):
        bad = agentls("context", target, "--cache-dir", cache, cwd=root)
        assert bad.returncode == 2 and message in bad.stderr, (target, bad.stderr)
