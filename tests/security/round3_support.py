"""What the round-3 attacks (tests/security/test_round3_attacks_*.py) share: a project
folder, a full-auto ``run_command`` through the real sandbox, and the same run in a
child process as an ordinary user (root reads and renames where a user cannot)."""

from __future__ import annotations

import inspect
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import agentls
from agentls.config import SandboxSettings
from agentls.context.files import WorkspaceFiles
from agentls.policy.sandbox import command_runner
from agentls.tools.command import command_tools
from agentls.tools.command_checkpoint import CommandCheckpoint

NOBODY = 65534


def project(tmp_path: Path) -> Path:
    """``tmp_path/project`` holding one ordinary file, main.py."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "main.py").write_text("print(1)\n")
    return root


async def answer(said: object) -> str:
    """What a tool call answers the model (awaited when the tool is async)."""
    if inspect.isawaitable(said):
        said = await said
    assert isinstance(said, str)
    return said


async def full_auto(
    root: Path,
    command: str,
    cache: Path | None = None,
    settings: SandboxSettings | None = None,
) -> str:
    """``command`` run by the ``run_command`` tool in full-auto (nothing asks: only the
    sandbox stands in the way), its changes recorded under ``cache`` when given; what
    the model reads back."""
    files = WorkspaceFiles(root)

    async def approve(line: str) -> str:
        return ""  # full-auto

    checkpoint = CommandCheckpoint(root, cache=cache) if cache is not None else None
    tool = command_tools(command_runner(root, files.secrets, settings), approve, checkpoint)[0]
    return await answer(tool.run({"command": command}))


# A child process runs the commands of ``run_in_child`` in ``base/project`` with
# ``base/home`` as HOME, through the real tools; it prints what the model reads.
FLOW = """
import asyncio, os, sys
from pathlib import Path
base = Path(sys.argv[1])
os.environ["HOME"] = str(base / "home")
from agentls.context.files import WorkspaceFiles
from agentls.policy.sandbox import command_runner
from agentls.tools.command import command_tools
from agentls.tools.command_checkpoint import CommandCheckpoint
root = base / "project"
async def main() -> None:
    files = WorkspaceFiles(root)
    async def approve(line: str) -> str:
        return ""
    keep = sys.argv[2] == "checkpoint"
    checkpoint = CommandCheckpoint(root, cache=base / "cache") if keep else None
    tool = command_tools(command_runner(root, files.secrets), approve, checkpoint)[0]
    for command in sys.argv[3:]:
        try:
            print(await tool.run({"command": command}))
        except Exception as error:  # what Toolbox.run answers the model
            print(f"error: run_command failed: {error}")
asyncio.run(main())
"""


@contextmanager
def child_folder(prefix: str = "agentls-round3-") -> Iterator[Path]:
    """A new folder under /tmp (where nobody reaches it) with ``home/`` and ``project/``
    in it, for ``run_in_child``; removed afterwards, whatever a command did to it."""
    base = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        (base / "home").mkdir()
        (base / "project").mkdir()
        yield base
    finally:
        subprocess.run(["chmod", "-R", "u+rwx", str(base)], check=False)
        shutil.rmtree(base, ignore_errors=True)


def give_to_nobody(base: Path) -> None:
    """When the tests run as root: ``base`` and all in it then belong to nobody."""
    if os.getuid() != 0:
        return
    for folder, dirs, files in os.walk(base):
        for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
            os.chown(name, NOBODY, NOBODY)


def as_ordinary_user(argv: list[str]) -> list[str]:
    """``argv`` run as nobody when the tests run as root (root reads any folder and
    renames in a folder without write access)."""
    if os.getuid() != 0:
        return argv
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *argv]


def run_in_child(
    base: Path, commands: list[str], *, checkpoint: bool = False, as_nobody: bool = False
) -> subprocess.CompletedProcess[str]:
    """The commands in a row in a child process (as nobody with ``as_nobody`` when the
    tests run as root); its changes recorded under ``base/cache`` with ``checkpoint``."""
    argv = [sys.executable, "-c", FLOW, str(base), "checkpoint" if checkpoint else "-", *commands]
    return subprocess.run(
        as_ordinary_user(argv) if as_nobody else argv,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(Path(agentls.__file__).parent.parent)},
        check=False,
    )
