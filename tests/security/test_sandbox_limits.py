"""Resource limits of the command sandbox (issue 12, class 7, the sandbox's half): a
hostile command forks without end, allocates without end, writes a huge file, fills
``/tmp`` and the home folder. Each stops at the limit of the settings
(``sandbox.maxProcesses``, ``maxMemoryMb``, ``maxFileMb``, ``tmpMb``); the real
bubblewrap and ``prlimit``."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentls.config import SandboxSettings
from agentls.policy import sandbox_view
from agentls.policy.sandbox import CommandRunner
from tests.security.sandbox_attack import require_sandbox

LIMITS = SandboxSettings(max_processes=24, max_memory_mb=128, max_file_mb=4, tmp_mb=8)


@pytest.fixture
def ws() -> Iterator[Path]:
    """A workspace any user may enter (the process test may run as ``nobody``)."""
    folder = Path(tempfile.mkdtemp(prefix="agentls-limits-", dir="/var/tmp"))
    folder.chmod(0o755)
    (folder / "ws").mkdir(mode=0o777)
    (folder / "ws").chmod(0o777)
    (folder / "home").mkdir(mode=0o755)
    try:
        yield folder / "ws"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def runner(ws: Path, monkeypatch: pytest.MonkeyPatch) -> CommandRunner:
    require_sandbox()
    monkeypatch.setenv("HOME", str(ws.parent / "home"))
    return CommandRunner(ws, sandboxed=True, settings=LIMITS)


async def test_memory_file_size_and_tmpfs_are_capped(runner: CommandRunner, ws: Path) -> None:
    result = await runner.run(
        "python3 -c 'b = bytearray(300 << 20); print(\"allocated\")' 2>&1 | tail -1;"
        " head -c 10M /dev/zero > big; stat -c 'big %s' big;"
        " for i in 1 2 3 4; do head -c 3M /dev/zero > /tmp/f$i; done;"
        " du -sb /tmp | sed 's/^/tmp /';"
        " for i in 1 2 3 4; do head -c 3M /dev/zero > ~/f$i; done; du -sb ~ | sed 's/^/home /';"
        " grep -E 'processes|file size|data size' /proc/self/limits"
    )
    out = result.output
    assert "MemoryError" in out and "allocated" not in out, out
    assert "big 4194304" in out and (ws / "big").stat().st_size == 4 << 20, out
    tmp = int(out.split("tmp ")[1].split()[0])
    home = int(out.split("home ")[1].split()[0])
    assert tmp <= (8 << 20) + 4096 and home <= (8 << 20) + 4096, out  # + folder entries
    assert "No space left on device" in out
    assert "Max processes             24                   24" in out, out


async def test_a_fork_bomb_stops_at_the_process_limit(
    runner: CommandRunner, ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kernel exempts root from RLIMIT_NPROC: as root, the sandbox (the real argv
    the runner builds) is started as ``nobody``, as an ordinary user would run it."""
    bomb = (
        "python3 -c 'import os, time\nn = 0\ntry:\n for i in range(100):\n"
        "  if os.fork() == 0: time.sleep(3); os._exit(0)\n  n += 1\n"
        "except OSError: pass\nprint(n)'"
    )
    if os.geteuid() != 0:
        result = await runner.run(bomb)
        started = int(result.output.split()[0])
    else:
        monkeypatch.setattr(sandbox_view, "_user_home", lambda: None)  # /root: not nobody's
        monkeypatch.setenv("PATH", "/usr/bin:/bin")
        done = await asyncio.to_thread(_as_nobody, runner, bomb, ws.parent)
        assert done.returncode == 0, done.stderr
        started = int(done.stdout.split()[0])
    assert started < 24, started


def _as_nobody(runner: CommandRunner, command: str, base: Path) -> subprocess.CompletedProcess[str]:
    scratch = Path(tempfile.mkdtemp(dir=base))
    scratch.chmod(0o755)
    argv, _, _ = runner._prepare(command, scratch)
    setpriv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    return subprocess.run(
        [*setpriv, *argv], capture_output=True, text=True, timeout=60, check=False
    )
