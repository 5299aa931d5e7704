"""Neovim 0.7 (headless, vim.lsp.start_client, default applyEdit handler) drives agentls.

Each test runs ``nvim --headless --clean -u nvim_driver.lua`` on a temp workspace:
code action on the instruction comment -> execute its ``agentls.run`` command with
``client.request_sync`` -> the edits stream into the buffer -> exact final text.
Neovim keeps its default didChange debounce (150 ms).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.editors import scenarios as s
from tests.editors.checks import (
    check_rewrite_streamed,
    check_typing_elsewhere,
    check_undo,
    check_unicode,
    undo_run,
    unicode_run,
)
from tests.editors.harness import check_ok, run_editor
from tests.support.model_server import ScriptedModelServer, text_reply, tool_call_reply

pytestmark = pytest.mark.editor

EDITOR = "nvim"


def test_rewrite_streams_into_the_buffer(model: ScriptedModelServer, tmp_path: Path) -> None:
    model.enqueue(text_reply(s.REPLY, tokens_per_second=80))
    run = run_editor(EDITOR, tmp_path, model, s.SOURCE)
    check_ok(run)
    check_rewrite_streamed(run, EDITOR, tmp_path)
    # Neovim announces window.workDoneProgress: the task is shown as a progress.
    assert any(
        p["title"].startswith("agentls: use math.pi") and p["done"] for p in run.output["progress"]
    ), run.explain()


@pytest.mark.parametrize(
    "document_changes", [False, True], ids=["default-capabilities", "documentChanges-announced"]
)
def test_typing_elsewhere_while_streaming(
    model: ScriptedModelServer, tmp_path: Path, document_changes: bool
) -> None:
    """The user types above and far below the region after each streamed edit.

    agentls sends versioned edits whatever the client announces, so both runs get
    the same edits: with Neovim's default capabilities (what a Neovim user gets:
    0.7 applies versioned edits and skips stale ones, but does not announce
    ``workspaceEdit.documentChanges``) and with a user config that announces it.
    Neovim skips the edits made stale by the typing (answering ``applied=true``);
    the server sees from the didChange that its edit is missing and sends it again.
    """
    model.enqueue(text_reply(s.REPLY, tokens_per_second=80))
    run = run_editor(
        EDITOR, tmp_path, model, s.SOURCE, typing=s.TYPING, document_changes=document_changes
    )
    check_ok(run)
    check_typing_elsewhere(run)


def test_undo_restores_the_original(model: ScriptedModelServer, tmp_path: Path) -> None:
    check_undo(undo_run(EDITOR, model, tmp_path))


def test_unicode_before_and_inside_the_region(model: ScriptedModelServer, tmp_path: Path) -> None:
    check_unicode(unicode_run(EDITOR, model, tmp_path))


SHAPES = (
    "from calc import area\n\n\ndef ring(outer, inner):\n    return area(outer) - area(inner)\n"
)
OLD = "def legacy():\n    return None\n"


def test_a_multi_file_agent_task_and_its_undo(model: ScriptedModelServer, tmp_path: Path) -> None:
    """agentls.run without a range: the agent edits the open buffer and a file Neovim
    does not have open (Neovim loads it into a buffer and leaves it unsaved), creates
    one file and deletes another; agentls.undo puts all four back."""
    model.enqueue(
        tool_call_reply([("read_file", {"path": "geometry/shapes.py"})]),
        tool_call_reply(
            [
                (
                    "edit_file",
                    {"path": "calc.py", "old_string": "RATE = 2", "new_string": "RATE = 3"},
                ),
                (
                    "edit_file",
                    {
                        "path": "geometry/shapes.py",
                        "old_string": "def ring(outer, inner):",
                        "new_string": "def ring(outer: float, inner: float) -> float:",
                    },
                ),
                ("write_file", {"path": "NOTES.md", "content": "# Notes\nrate is 3\n"}),
                ("delete_file", {"path": "old.py"}),
            ]
        ),
        tool_call_reply([("finish", {"summary": "rate 3, typed ring, notes, no legacy"})]),
    )
    files = {"geometry/shapes.py": SHAPES, "old.py": OLD, "NOTES.md": None}
    run = run_editor(
        EDITOR,
        tmp_path,
        model,
        s.SOURCE,
        files=files,
        run_args={"instruction": "tidy up", "mode": "edit"},
        settings={"agent": {"approval": "auto-edit"}},
        undo=True,
    )
    check_ok(run)
    ws = tmp_path / "ws"
    result = run.result
    assert result["status"] == "done", run.explain()
    assert result["summary"] == "rate 3, typed ring, notes, no legacy", run.explain()
    after = run.output["files"]
    calc, shapes = after[str(ws / "calc.py")], after[str(ws / "geometry/shapes.py")]
    assert calc["buffer"] == s.SOURCE.replace("RATE = 2", "RATE = 3"), run.explain()
    assert calc["modified"] and calc["disk"] == s.SOURCE, run.explain()
    assert shapes["buffer"] == SHAPES.replace(
        "def ring(outer, inner):", "def ring(outer: float, inner: float) -> float:"
    ), run.explain()
    assert shapes["modified"] and shapes["disk"] == SHAPES, run.explain()
    assert after[str(ws / "NOTES.md")]["buffer"] == "# Notes\nrate is 3\n", run.explain()
    assert after[str(ws / "old.py")]["disk"] is None, run.explain()
    assert len(result["editedFiles"]) == 4, run.explain()

    assert run.output["undo_result"]["status"] == "undone", run.explain()
    undone = run.output["files_after_undo"]
    assert undone[str(ws / "calc.py")]["buffer"] == s.SOURCE, run.explain()
    assert undone[str(ws / "geometry/shapes.py")]["buffer"] == SHAPES, run.explain()
    assert undone[str(ws / "NOTES.md")]["disk"] is None, run.explain()
    assert undone[str(ws / "old.py")]["disk"] == OLD, run.explain()
