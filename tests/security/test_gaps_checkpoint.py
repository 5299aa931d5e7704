"""The command checkpoint's store (issue 12, gaps). A command runs between two
snapshots of the workspace, kept in a shadow git repository in the user's cache;
secret files must never be copied there. The exclude list was matched as git
matches, case-sensitively: ``.ENV``, ``Id_RSA``, ``.SSH/``, ``Credentials.json``
(the very ``.env`` on a case-insensitive file system) and backup copies
(``.env.bak``) were copied into the store. The real bubblewrap and git."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentls.policy.sandbox import CommandRunner
from agentls.tools.command_checkpoint import CommandCheckpoint
from tests.security.sandbox_attack import require_sandbox

TOKEN = "gapcanary-7f3e91c2d4"
SECRETS = [".ENV", "Id_RSA", "app/.SSH/config", "Credentials.json", ".Env.Local", ".env.bak"]


@pytest.fixture
def folder() -> Iterator[Path]:
    made = Path(tempfile.mkdtemp(prefix="agentls-gaps-ckpt-", dir="/var/tmp"))
    try:
        yield made
    finally:
        shutil.rmtree(made, ignore_errors=True)


def _store(git_dir: Path) -> str:
    """Every object in the shadow repository, as text."""
    done = subprocess.run(
        ["git", f"--git-dir={git_dir}", "cat-file", "--batch-all-objects", "--batch"],
        capture_output=True,
        check=False,
    )
    return done.stdout.decode("utf-8", "replace")


async def test_secret_files_under_any_case_stay_out_of_the_checkpoint(folder: Path) -> None:
    require_sandbox()
    root = folder / "ws"
    root.mkdir()
    (root / "main.py").write_text("x = 1\n")
    for name in SECRETS:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(f"{TOKEN} {name}\n")
    checkpoint = CommandCheckpoint(root, cache=folder / "cache")
    runner = CommandRunner(root, sandboxed=True)
    result, changed = await checkpoint.around(
        lambda: runner.run('echo \'x = 2\' > main.py; for f in *; do echo "$f x" >> "$f"; done')
    )
    assert result.exit_code == 0, result.output
    assert "main.py" in changed, changed
    store = _store(checkpoint.git_dir)
    assert "x = 2" in store  # the snapshot worked
    leaked = [name for name in SECRETS if f"{TOKEN} {name}" in store]
    assert not leaked, f"copied into the checkpoint store: {leaked}"
