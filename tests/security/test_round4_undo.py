"""Round 4: changes a command hides from the checkpoint (real ``agentls exec``,
full-auto, real bubblewrap): a process left running after the command, and a change
that keeps the file's size and modification time."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.security.round4_support import commands, exec_task, threaded_model, workspace
from tests.support.model_server import ScriptedModelServer

__all__ = ["threaded_model"]


def test_r4_27_a_process_left_behind_changes_nothing_after_the_command(
    threaded_model: ScriptedModelServer, tmp_path: Path
) -> None:
    """``setsid -f``, ``nohup … &`` and a double fork that write 1 s after the command
    ended: the sandbox's process tree ends with the command, so nothing changes the
    workspace behind the checkpoint's back."""
    root = workspace(tmp_path, {"data.txt": "original\n"})
    line = (
        "setsid -f sh -c 'sleep 1; echo late1 >> data.txt'; "
        "nohup sh -c 'sleep 1; echo late2 >> data.txt' >/dev/null 2>&1 & "
        "( ( sleep 1; echo late3 >> data.txt ) & ) ; echo started"
    )
    run = exec_task(threaded_model, root, commands(line))
    assert run.done.returncode == 0, run.done.stderr
    assert "started" in run.results[0], run.results[0]
    time.sleep(2.5)
    assert (root / "data.txt").read_text() == "original\n"


def test_r4_28_a_same_size_change_with_its_time_set_back_is_recorded(
    threaded_model: ScriptedModelServer, tmp_path: Path
) -> None:
    """The command rewrites ``data.txt`` with text of the same size and sets its
    modification time back (``touch -r``): the change is still listed (tool result and
    the exec diff), so undo covers it."""
    root = workspace(tmp_path, {"data.txt": "value = 1\n", "ref.txt": "x\n"})
    old = time.time() - 3600
    os.utime(root / "data.txt", (old, old))
    os.utime(root / "ref.txt", (old, old))
    line = "printf 'value = 9\\n' > data.txt.new && cat data.txt.new > data.txt && "
    line += "rm data.txt.new && touch -r ref.txt data.txt && echo rewritten"
    run = exec_task(threaded_model, root, commands(line))
    assert run.done.returncode == 0, run.done.stderr
    assert (root / "data.txt").read_text() == "value = 9\n"
    assert "rewritten" in run.results[0]
    assert "data.txt" in run.results[0].split("[files it changed:")[-1], run.results[0]
    assert "+value = 9" in run.done.stdout, run.done.stdout
