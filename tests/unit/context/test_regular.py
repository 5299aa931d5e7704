"""Reading files a repository chose: only regular files, no link followed, within a cap."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from agentls.agent.project import project_instructions
from agentls.context.index import WorkspaceIndex
from agentls.context.regular import Skipped, read_regular


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.py").write_text("x = 1\n")
    (tmp_path / "outside.py").write_text("OUTSIDE\n")
    return root


def test_a_regular_file_is_read(root: Path) -> None:
    data, info = read_regular(root, "sub/a.py", 100)
    assert data == b"x = 1\n"
    assert info.st_size == 6


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda r: (r / "sub" / "l.py").symlink_to(r.parent / "outside.py"), "symbolic link"),
        (lambda r: (r / "sub" / "l.py").symlink_to("/dev/zero"), "symbolic link"),
        (lambda r: os.mkfifo(r / "sub" / "l.py"), "fifo"),
    ],
)
def test_links_fifos_and_devices_are_skipped(root: Path, make: object, reason: str) -> None:
    make(root)  # type: ignore[operator]
    with pytest.raises(Skipped, match=reason):
        read_regular(root, "sub/l.py", 1 << 20)


def test_a_device_is_skipped_without_reading_it() -> None:
    with pytest.raises(Skipped, match="a device"):
        read_regular("/dev", "zero", 1 << 20)


def test_a_folder_swapped_for_a_link_is_not_followed(root: Path) -> None:
    other = root.parent / "other"
    other.mkdir()
    (other / "a.py").write_text("OUTSIDE\n")
    (root / "sub" / "a.py").unlink()
    (root / "sub").rmdir()
    (root / "sub").symlink_to(other)
    with pytest.raises(Skipped, match="under a symbolic link"):
        read_regular(root, "sub/a.py", 100)


def test_the_cap_skips_or_cuts(root: Path) -> None:
    (root / "big.txt").write_bytes(b"y" * 1000)
    with pytest.raises(Skipped, match="over the 100-byte cap") as raised:
        read_regular(root, "big.txt", 100)
    assert raised.value.size == 1000
    assert read_regular(root, "big.txt", 100, cut=True)[0] == b"y" * 100


def test_agents_md_that_is_a_fifo_or_a_link_is_left_out(root: Path) -> None:
    os.mkfifo(root / "AGENTS.md")
    (root / "sub" / "AGENTS.md").symlink_to("/dev/zero")
    (root / "sub" / "CLAUDE.md").write_text("use tabs")
    assert project_instructions(root, root / "sub") == "## sub/CLAUDE.md\nuse tabs"


def test_a_huge_agents_md_is_read_up_to_the_cap(root: Path) -> None:
    (root / "AGENTS.md").write_text("z" * 100_000)
    text = project_instructions(root, cap=1000)
    assert "cut at the 1000-character cap" in text
    assert len(text) < 1200


def test_an_existing_index_and_cache_folder_are_made_private(tmp_path: Path) -> None:
    root = tmp_path / "app"
    root.mkdir()
    (root / "a.py").write_text("def f():\n    return 1\n")
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o755)
    os.chmod(cache, 0o755)
    first = WorkspaceIndex(root, cache_dir=cache)
    first.build()
    os.chmod(first.db_path, 0o644)
    os.chmod(cache, 0o755)
    again = WorkspaceIndex(root, cache_dir=cache)
    again.build()
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o700
    for path in cache.iterdir():
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
