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


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*"))


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


async def test_the_checkpoint_store_is_capped_and_undo_says_what_it_did_not_keep(
    folder: Path,
) -> None:
    """A command writes 6 files of 3 MB (random: git cannot compress them), each under
    the 32 MB file cap: without a total cap all were copied into the user's cache,
    command after command. With a cap of 8 MB per snapshot, at most 2 are kept; the
    tool result and the undo name the others."""
    require_sandbox()
    root = folder / "ws"
    root.mkdir()
    (root / "main.py").write_text("x = 1\n")
    cap = 8 << 20
    checkpoint = CommandCheckpoint(root, cache=folder / "cache", max_snapshot_bytes=cap)
    runner = CommandRunner(root, sandboxed=True)
    result, _ = await checkpoint.around(
        lambda: runner.run("for i in 1 2 3 4 5 6; do head -c 3M /dev/urandom > blob$i; done")
    )
    assert result.exit_code == 0, result.output
    objects = _size(checkpoint.git_dir / "objects")
    assert objects < cap + (1 << 20), objects
    assert len(checkpoint.unrecorded) >= 4, checkpoint.unrecorded
    report = checkpoint.undo()
    said = report.describe()
    assert "too big to keep" in said, said
    for name in checkpoint.unrecorded:
        assert name in said, said
