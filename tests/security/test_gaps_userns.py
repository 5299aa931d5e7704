"""Nested namespaces (issue 12, gaps): a command that makes a user namespace of its
own gets back every capability inside it (mount, ``unshare -r``), the kernel attack
surface that user namespaces open. bubblewrap's ``--disable-userns`` closes it: the
command's ``unshare -U`` fails. The real bubblewrap."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentls.policy.sandbox import CommandRunner
from agentls.policy.sandbox_view import bwrap_knows, bwrap_path
from tests.security.sandbox_attack import require_sandbox


@pytest.fixture
def ws() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="agentls-userns-", dir="/var/tmp"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def test_a_command_cannot_make_a_user_namespace(ws: Path) -> None:
    require_sandbox()
    if not bwrap_knows(bwrap_path(), "--disable-userns"):
        pytest.skip("this bubblewrap has no --disable-userns (0.8.0 and later)")
    runner = CommandRunner(ws, sandboxed=True)
    result = await runner.run(
        "unshare -U true; echo user=$?; unshare -Ur true; echo root=$?;"
        " python3 -c 'import ctypes; print(\"libc\", ctypes.CDLL(None).unshare(0x10000000))'"
    )
    out = result.output
    assert "user=0" not in out and "root=0" not in out, out
    assert "user=" in out and "root=" in out, out
    assert "libc -1" in out, out  # the system call itself fails, not just the program
