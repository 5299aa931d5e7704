"""Round-three attacks by a hostile repository (issue 12, independent pass): files the
model did not write, in the folder the user opened, read by the server itself on the
host (not in the sandbox) when it indexes the workspace.

The index is built by ``agentls exec`` and by the LSP server at start
(``ContextEngine.build`` walks ``WorkspaceFiles``); the walks here run in a child
process with a memory cap and a deadline, so that a broken protection fails the
test instead of taking the machine down.
"""

from __future__ import annotations

import os
import resource
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from agentls.context.index import WorkspaceIndex

WALK = "\n".join(
    [
        "import sys",
        "from pathlib import Path",
        "from agentls.context.files import WorkspaceFiles",
        "files = list(WorkspaceFiles(Path(sys.argv[1])).walk())",
        "print('walked', len(files))",
    ]
)
MEMORY_CAP = 1 << 30  # bytes of address space the walking process may take


def _capped() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def _walk(root: Path, seconds: float = 4.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WALK, str(root)],
        capture_output=True,
        text=True,
        timeout=seconds,
        preexec_fn=_capped,
        check=False,
    )


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "cloned"
    (root / "sub").mkdir(parents=True)
    (root / "main.py").write_text("def main():\n    return 1\n")
    (root / "sub" / "util.py").write_text("def helper():\n    return 2\n")
    return root


def test_a_plain_checkout_is_walked(tmp_path: Path) -> None:
    """The control: the walk itself fits the cap and the deadline."""
    done = _walk(_project(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "walked 2" in done.stdout


def test_a_gitignore_linked_to_dev_zero_does_not_exhaust_memory(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / "sub" / ".gitignore").symlink_to("/dev/zero")
    done = _walk(root)
    assert done.returncode == 0, done.stderr[-400:]
    assert "walked 2" in done.stdout


def test_a_gitignore_fifo_does_not_hang_the_index(tmp_path: Path) -> None:
    root = _project(tmp_path)
    os.mkfifo(root / "sub" / ".gitignore")
    try:
        done = _walk(root)
    except subprocess.TimeoutExpired:
        pytest.fail("the walk hung on the fifo")
    assert done.returncode == 0, done.stderr[-400:]


def test_the_index_in_the_cache_is_private_to_the_user(tmp_path: Path) -> None:
    root = tmp_path / "app"
    root.mkdir()
    (root / "settings.py").write_text(
        'STRIPE_KEY = "sk_live_51HCANARYabcdefghijklmnopqrstuv"\n'
        'def connect(password="CANARY-pw-77"):\n    pass\n'
    )
    cache = tmp_path / "cache" / "agentls"
    index = WorkspaceIndex(root, cache_dir=cache)
    index.build()
    stored = index.db_path.read_bytes()
    holds_secret = b"sk_live_51HCANARY" in stored or b"CANARY-pw-77" in stored
    others_can_read = bool(os.stat(index.db_path).st_mode & stat.S_IROTH) and bool(
        os.stat(cache).st_mode & stat.S_IXOTH
    )
    assert not (holds_secret and others_can_read), (
        f"{index.db_path} is {oct(os.stat(index.db_path).st_mode & 0o777)} "
        f"in a {oct(os.stat(cache).st_mode & 0o777)} folder and holds the secret"
    )
