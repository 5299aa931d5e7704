"""The command checkpoint on its own (real git, a coroutine in place of the command)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agentls.tools import command_checkpoint
from agentls.tools.command_checkpoint import MAX_FILE_BYTES, CommandCheckpoint


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


async def test_a_huge_file_a_command_writes_is_not_copied_into_the_cache(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.txt").write_text("a\n")
    checkpoint = CommandCheckpoint(root, cache=tmp_path / "cache")

    async def command() -> None:
        with (root / "huge.bin").open("wb") as f:
            f.truncate(MAX_FILE_BYTES + 1)  # sparse: costs the disk nothing here
        (root / "a.txt").write_text("b\n")

    _, changed = await checkpoint.around(command)
    assert changed == ["a.txt"]
    assert folder_bytes(tmp_path / "cache") < 1 << 20


async def test_a_cancelled_command_is_still_recorded(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.txt").write_text("a\n")
    checkpoint = CommandCheckpoint(root, cache=tmp_path / "cache")

    async def command() -> None:
        (root / "a.txt").write_text("half way\n")
        await asyncio.sleep(30)

    task = asyncio.create_task(checkpoint.around(command))
    while (root / "a.txt").read_text() == "a\n":
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert list(checkpoint.changes) == ["a.txt"]
    assert checkpoint.undo().restored == ["a.txt"]
    assert (root / "a.txt").read_text() == "a\n"


async def test_the_workspace_git_setup_runs_nothing_and_converts_nothing(tmp_path: Path) -> None:
    """A .gitattributes asking for a filter and line-ending conversion: the bytes are
    kept as they are, and the filter's program never runs."""
    root = tmp_path / "ws"
    root.mkdir()
    (root / ".gitattributes").write_text("* text eol=lf filter=evil\n")
    (root / "w.txt").write_bytes(b"one\r\ntwo\r\n")
    checkpoint = CommandCheckpoint(root, cache=tmp_path / "cache")
    checkpoint._prepare()
    checkpoint._git("config", "filter.evil.clean", f"touch {tmp_path}/ran; cat")

    async def command() -> None:
        (root / "w.txt").write_bytes(b"three\r\n")

    await checkpoint.around(command)
    checkpoint.undo()
    assert (root / "w.txt").read_bytes() == b"one\r\ntwo\r\n"
    assert not (tmp_path / "ran").exists()


async def test_snapshots_are_for_the_user_alone(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "a.txt").write_text("a\n")
    checkpoint = CommandCheckpoint(root, cache=tmp_path / "cache")

    async def command() -> None:
        (root / "a.txt").write_text("b\n")

    await checkpoint.around(command)
    for folder in (checkpoint.git_dir, checkpoint.git_dir.parent):
        assert folder.stat().st_mode & 0o077 == 0, oct(folder.stat().st_mode)


async def test_ignored_files_are_recorded_within_the_caps_and_the_rest_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ignored files are snapshotted (the workspace's .gitignore decides nothing), up to
    the caps, files outside package folders first; a left-out file the command
    changes, or one it creates past the caps, is named in ``unrecorded``."""
    monkeypatch.setattr(command_checkpoint, "MAX_IGNORED_FILES", 3)
    root = tmp_path / "ws"
    (root / "node_modules").mkdir(parents=True)
    (root / ".gitignore").write_text("*.log\nnode_modules/\n")
    (root / "a.log").write_text("a\n")
    for name in ("p1", "p2", "p3"):
        (root / "node_modules" / name).write_text(f"{name}\n")
    checkpoint = CommandCheckpoint(root, cache=tmp_path / "cache")

    async def command() -> None:
        (root / "a.log").write_text("changed\n")
        (root / "node_modules/p1").write_text("changed\n")
        (root / "node_modules/p3").write_text("changed\n")
        (root / "node_modules/p4").write_text("new\n")

    _, changed = await checkpoint.around(command)
    assert changed == ["a.log", "node_modules/p1"]
    assert checkpoint.unrecorded == ["node_modules/p3", "node_modules/p4"]
    assert checkpoint.undo().restored == ["a.log", "node_modules/p1"]
    assert (root / "a.log").read_text() == "a\n"
    assert (root / "node_modules/p1").read_text() == "p1\n"
