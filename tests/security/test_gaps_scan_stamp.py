"""The content scan's memory of checked files (found in the gaps round of issue 12).
Between commands the sandbox rechecks a file only when its stamp changed; the stamp
was (inode, size, mtime), all of which a command sets: it wrote a token into a
checked, clean file in place, kept its size, and set the mtime back to the
nanosecond (``touch -d``); the next command printed the token. The stamp now holds
the change time (ctime), which only the kernel sets. The real bubblewrap."""

from __future__ import annotations

import shlex
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentls.policy.sandbox import CommandRunner
from tests.security.sandbox_attack import require_sandbox
from tests.security.secret_samples import python_line, token_samples


@pytest.fixture
def ws() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="agentls-gaps-stamp-", dir="/var/tmp"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def test_a_same_size_rewrite_with_the_mtime_set_back_is_checked_again(ws: Path) -> None:
    require_sandbox()
    line = python_line(token_samples()[0])
    token = line.split("'")[1] if "'" in line else line.split('"')[1]
    (ws / "config.py").write_text("x = 1\n" + "#" * len(line) + "\n")
    runner = CommandRunner(ws, sandboxed=True)
    assert token not in (await runner.run("cat config.py")).output  # checked once: clean
    first = await runner.run(
        f"stamp=$(stat -c %y config.py); printf '%s\\n' 'x = 1' {shlex.quote(line)} > config.py;"
        ' touch -d "$stamp" config.py; echo rewritten'
    )
    assert "rewritten" in first.output, first.output
    assert (ws / "config.py").read_text() == "x = 1\n" + line + "\n"
    second = await runner.run("cat config.py")
    assert token not in second.output, second.output
