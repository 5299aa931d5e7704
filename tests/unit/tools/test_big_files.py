"""Files the tools must not swallow: 50 MB, binary, not UTF-8. They are refused or
skipped with a reason, without reading the big one into memory, and never edited."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentls.context.files import WorkspaceFiles
from agentls.tools.read import read_file, search
from agentls.tools.workspace import ToolDenied, Workspace
from agentls.tools.write import DiskSink, WriteTools

FIFTY_MB = 50 * 1000 * 1000


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "small.py").write_text("needle = 1\n")
    with (root / "big.log").open("wb") as f:  # 50 MB (sparse), the match at its end
        f.truncate(FIFTY_MB)
        f.seek(FIFTY_MB)
        f.write(b"\nneedle\n")
    (root / "blob.bin").write_bytes(b"\x00needle\x00" * 10)
    (root / "latin.txt").write_bytes("café needle\n".encode("latin-1"))
    return Workspace(WorkspaceFiles(root))


@pytest.fixture
def no_big_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail if anything reads big.log's bytes."""
    reads: list[str] = []
    original = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "big.log":
            reads.append(str(self))
            raise AssertionError("big.log was read")
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    return reads


def test_read_file_refuses_a_50_mb_file_without_reading_it(
    ws: Workspace, no_big_reads: list[str]
) -> None:
    with pytest.raises(ToolDenied, match=r"big.log: 50.0 MB is too big to read whole; use search"):
        read_file(ws, "big.log")
    assert no_big_reads == []


def test_search_names_what_it_did_not_search(ws: Workspace, no_big_reads: list[str]) -> None:
    found = search(ws, "needle")
    assert "small.py:1: needle = 1" in found and "latin.txt:1: caf\ufffd needle" in found
    assert "not searched: big.log: 50.0 MB is too big to read whole" in found
    assert "not searched: blob.bin: a binary file" in found
    assert no_big_reads == []
    assert "not searched: big.log" in search(ws, "no such text anywhere")


def test_a_non_utf8_file_is_shown_with_a_note_and_never_edited(ws: Workspace) -> None:
    shown = read_file(ws, "latin.txt")
    assert "not UTF-8" in shown.splitlines()[0] and "caf\ufffd needle" in shown
    assert "not UTF-8" not in read_file(ws, "small.py")


@pytest.mark.parametrize(
    ("call", "why"),
    [
        (("edit_file", "latin.txt", "caf", "CAF"), r"not UTF-8 text \(byte 3\)"),
        (("write_file", "latin.txt", "new\n"), "not UTF-8 text"),
        (("edit_file", "blob.bin", "needle", "x"), "a binary file"),
        (("write_file", "blob.bin", "text"), "a binary file"),
        (("delete_file", "blob.bin"), "a binary file"),
    ],
)
async def test_binary_and_non_utf8_files_are_not_written_over(
    ws: Workspace, call: tuple[str, ...], why: str
) -> None:
    before = {p.name: p.read_bytes() for p in ws.root.iterdir() if p.name != "big.log"}
    tools = WriteTools(ws, DiskSink(ws.root))
    name, *args = call
    with pytest.raises(ToolDenied, match=why):
        await getattr(tools, name)(*args)
    after = {p.name: p.read_bytes() for p in ws.root.iterdir() if p.name != "big.log"}
    assert after == before


async def test_a_non_utf8_file_open_in_the_editor_is_edited_as_its_buffer(
    tmp_path: Path,
) -> None:
    """The editor decoded it: its buffer is text, and the edit goes to the buffer."""
    root = tmp_path / "ws"
    root.mkdir()
    (root / "latin.txt").write_bytes("café\n".encode("latin-1"))
    buffers = {"latin.txt": "café\n"}
    ws = Workspace(WorkspaceFiles(root), buffers.get)
    sent: list[tuple[str, str | None, str]] = []

    class Buffers:
        async def write(self, relative: str, old: str | None, new: str) -> None:
            sent.append((relative, old, new))

        async def delete(self, relative: str, old: str) -> None:
            raise AssertionError

    out = await WriteTools(ws, Buffers()).edit_file("latin.txt", "café", "CAFÉ")
    assert out.startswith("latin.txt: edited")
    assert sent == [("latin.txt", "café\n", "CAFÉ\n")]
