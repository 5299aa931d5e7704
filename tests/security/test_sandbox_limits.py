"""Resource limits of the command sandbox (issue 12, class 7, the sandbox's half): a
hostile command forks without end, allocates without end, writes a huge file, fills
``/tmp`` and the home folder. Each stops at the limit of the settings
(``sandbox.maxProcesses``, ``maxMemoryMb``, ``maxFileMb``, ``tmpMb``); the real
bubblewrap and ``prlimit``."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentls.config import SandboxSettings
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


async def test_a_fork_bomb_stops_at_the_process_limit(runner: CommandRunner) -> None:
    """As the user the server runs as, root included (the kernel exempts root from
    RLIMIT_NPROC: the command's pids cgroup holds it). Bounded: 100 children that
    sleep 3 s; past the limit ``fork`` fails and the count is printed."""
    bomb = (
        "python3 -c 'import os, time\nn = 0\ntry:\n for i in range(100):\n"
        "  if os.fork() == 0: time.sleep(3); os._exit(0)\n  n += 1\n"
        "except OSError as e: print(e)\nprint(n)'"
    )
    result = await runner.run(bomb, timeout=30)
    assert result.exit_code == 0, result.output
    started = int(result.output.split()[-1])
    assert started < 24, result.output
    assert "Resource temporarily unavailable" in result.output, result.output
