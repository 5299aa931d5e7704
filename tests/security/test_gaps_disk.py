"""Filling the disk (issue 12, gaps). RLIMIT_FSIZE capped each file, yet a command
wrote file after file (each under ``sandbox.maxFileMb``) until the user's disk was
full. Now the runner watches the free space of the workspace's file system while a
command runs and kills it once it used more than ``sandbox.maxWriteMb`` (the
output says so). The real bubblewrap on the real disk."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentls.config import SandboxSettings
from agentls.policy.sandbox import CommandRunner
from tests.security.sandbox_attack import require_sandbox

FILE_MB, WRITE_MB, FILES = 16, 64, 40  # 640 MB asked, 64 MB allowed


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir())


@pytest.fixture
def ws() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="agentls-gaps-disk-", dir="/var/tmp"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def test_a_command_that_fills_the_disk_is_stopped(ws: Path) -> None:
    require_sandbox()
    settings = SandboxSettings(max_file_mb=FILE_MB, max_write_mb=WRITE_MB)
    runner = CommandRunner(ws, sandboxed=True, settings=settings)
    result = await runner.run(
        f"for i in $(seq {FILES}); do head -c {FILE_MB}M /dev/urandom > f$i; done; echo finished",
        timeout=120,
    )
    written = _size(ws)
    assert "finished" not in result.output, result.output
    assert result.exit_code is None and not result.timed_out, result
    assert "sandbox.maxWriteMb" in result.output, result.output
    # Stopped within a poll of the limit, far below what was asked.
    assert written < (WRITE_MB + 8 * FILE_MB) << 20, written
