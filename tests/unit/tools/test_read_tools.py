"""read_file, list_files, search and find_symbol: confined, buffers first, never a secret."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agentls.context.files import WorkspaceFiles
from agentls.context.index import WorkspaceIndex
from agentls.tools.read import find_symbol, list_files, read_file, search
from agentls.tools.workspace import ToolDenied, Workspace
from tests.unit.context.workspace import SECRET, make_workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    root = make_workspace(tmp_path / "ws")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n")
    (tmp_path / "outside.py").write_text(f"TOKEN = '{SECRET}'\n")
    os.symlink(tmp_path / "outside.py", root / "app" / "link.py")
    os.symlink(root / ".env", root / "app" / "env_link.txt")
    buffers = {"app/text.py": "def slugify(value):\n    return 'unsaved'\n"}
    return Workspace(WorkspaceFiles(root), buffers.get)


def test_read_file_numbers_lines_and_prefers_the_buffer(ws: Workspace) -> None:
    out = read_file(ws, "app/models.py", offset=4, limit=2)
    assert out.splitlines()[0] == "app/models.py (12 lines)"
    assert out.splitlines()[1:3] == [
        "     4\t    def __init__(self, name: str) -> None:",
        "     5\t        self.name = name",
    ]
    assert "lines 6-12 not shown (read_file with offset=6)" in out
    assert "'unsaved'" in read_file(ws, "app/text.py")  # the editor's buffer, not the disk
    assert "'unsaved'" in read_file(ws, (ws.root / "app/text.py").as_uri())


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("../outside.py", "outside the workspace"),
        ("/etc/passwd", "outside the workspace"),
        ("app/link.py", "outside the workspace"),  # a symlink out
        ("app/../../outside.py", "outside the workspace"),
        (".env", "a secret file"),
        ("app/env_link.txt", "a secret file"),  # a symlink to a secret
        ("config/credentials.json", "a secret file"),
        ("build/slugify_copy.py", "ignored"),
        ("private/notes.py", "ignored"),
        (".git/config", ".git/ internals"),
        ("app/nope.py", "no such file"),
    ],
)
def test_read_file_refuses_what_it_may_not_read(ws: Workspace, path: str, why: str) -> None:
    with pytest.raises(ToolDenied) as denied:
        read_file(ws, path)
    assert why in str(denied.value)
    assert SECRET not in str(denied.value)


def test_binary_and_non_utf8_files(ws: Workspace) -> None:
    (ws.root / "blob.bin").write_bytes(b"\x00\x01\x02" * 10)
    (ws.root / "latin.txt").write_bytes("café\n".encode("latin-1"))
    with pytest.raises(ToolDenied, match="binary"):
        read_file(ws, "blob.bin")
    assert "caf\ufffd" in read_file(ws, "latin.txt")


def test_list_files_leaves_out_secrets_and_ignored_files(ws: Workspace) -> None:
    listed = list_files(ws).splitlines()
    assert "app/models.py" in listed and "web/client.ts" in listed
    assert ".gitignore" in listed  # not a secret, not ignored
    for hidden in (
        ".env",
        "config/credentials.json",
        "build/slugify_copy.py",
        "private/notes.py",
        "vendor/dropped.py",
        ".git/config",
    ):
        assert hidden not in listed
    assert list_files(ws, "app", "*.py").splitlines() == [
        "app/__init__.py",
        "app/models.py",
        "app/service.py",
        "app/text.py",
    ]
    with pytest.raises(ToolDenied):
        list_files(ws, "..")


def test_search_finds_lines_in_buffers_and_files_but_never_in_secrets(ws: Workspace) -> None:
    out = search(ws, r"def slugify")
    assert out.splitlines() == ["app/text.py:1: def slugify(value):"]  # the buffer's text
    assert search(ws, "User", "app", "*.py").count("app/") >= 3
    everything = search(ws, ".")
    assert SECRET not in everything
    assert search(ws, SECRET).startswith("no match")  # the canary's files are never searched
    with pytest.raises(ToolDenied, match="regular expression"):
        search(ws, "([")


def test_find_symbol_reports_definitions_with_their_signatures(
    ws: Workspace, tmp_path: Path
) -> None:
    index = WorkspaceIndex(ws.root, tmp_path / "cache", ws.files, workers=1)
    index.build()
    out = find_symbol(ws, index.definitions, "User")
    assert out.splitlines() == ["app/models.py:1-8: class User: class User:"]
    assert "def display(self) -> str:" in find_symbol(ws, index.definitions, "display")
    assert "no definition" in find_symbol(ws, index.definitions, "nothing_like_this")
