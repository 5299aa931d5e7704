"""What every editor must show for the scenarios of scenarios.py: the Neovim and the
Emacs tests run each scenario in their editor, check it here, then add what is
particular to that editor. The scenarios that need no editor's own settings run here
too (``undo_run``, ``unicode_run``)."""

from __future__ import annotations

from pathlib import Path

from tests.editors import scenarios as s
from tests.editors.harness import (
    EditorRun,
    applied_edits,
    assert_text,
    assert_versioned_edits,
    check_ok,
    run_editor,
)
from tests.support.model_server import ScriptedModelServer, text_reply


def check_action(run: EditorRun, uri_suffix: str) -> None:
    """The code action offered on the instruction comment runs ``agentls.run``."""
    action = run.output["action"]
    assert action["kind"] == "refactor.rewrite", run.explain()
    command = action["command"]
    assert command["command"] == "agentls.run", run.explain()
    (arguments,) = command["arguments"]
    assert arguments["mode"] == "edit" and arguments["uri"].endswith(uri_suffix), run.explain()


def check_rewrite_streamed(run: EditorRun, editor: str, tmp_path: Path) -> None:
    """The rewrite of s.SOURCE came in several versioned edits and ends as s.EXPECTED."""
    assert run.output["action"]["title"] == (
        "Agent: use math.pi, add type hints, a docstring and input checks"
    ), run.explain()
    check_action(run, "/calc.py")
    result = run.result
    assert result["status"] == "done", run.explain()
    assert result["editedFiles"] == [(tmp_path / "ws" / "calc.py").as_uri()], run.explain()
    assert result["usage"]["outputTokens"] > 0, run.explain()
    assert_text(run, run.output["text"], s.EXPECTED, "after agentls.run")
    assert applied_edits(run, editor) >= 3, f"expected several streamed edits\n{run.explain()}"
    assert_versioned_edits(run)


def check_typing_elsewhere(run: EditorRun) -> None:
    """The user's typing (s.TYPING, a step after each streamed edit) and the rewrite
    both ended in the text; the user really typed while the rewrite streamed in."""
    typed = run.output["typed_steps"]
    snapshots = run.output["snapshots"]
    assert_text(
        run, run.output["text"], s.with_typing(s.EXPECTED, s.TYPING[:typed]), "typing elsewhere"
    )
    assert run.result["status"] == "done", run.explain()
    assert_versioned_edits(run)
    assert typed >= 3 and len(snapshots) == typed, run.explain()
    assert all(snap["at_ms"] < run.output["result_ms"] for snap in snapshots), run.explain()
    assert snapshots[0]["text"] != s.with_typing(s.EXPECTED, s.TYPING[:1]), run.explain()
    assert all(snap.get("error") is None for snap in snapshots), run.explain()


def check_undo(run: EditorRun) -> None:
    """The rewrite ended as s.EXPECTED and agentls.undo brought s.SOURCE back."""
    assert run.result["status"] == "done", run.explain()
    assert_text(run, run.output["text"], s.EXPECTED, "after agentls.run")
    undo = run.output["undo_result"]
    assert undo["status"] == "undone" and undo["taskId"] == run.result["taskId"], run.explain()
    assert_text(run, run.output["text_after_undo"], s.SOURCE, "after agentls.undo")


def check_unicode(run: EditorRun) -> None:
    """The rewrite of s.UNICODE_SOURCE (UTF-16 positions) ends as s.UNICODE_EXPECTED."""
    assert run.output["action"]["title"] == "Agent: 把 greet 改成大写 😀", run.explain()
    check_action(run, ".py")
    assert run.result["status"] == "done", run.explain()
    assert_text(run, run.output["text"], s.UNICODE_EXPECTED, "after agentls.run")


def undo_run(editor: str, model: ScriptedModelServer, tmp_path: Path) -> EditorRun:
    """The rewrite of s.SOURCE in ``editor``, then agentls.undo (see ``check_undo``)."""
    model.enqueue(text_reply(s.REPLY, tokens_per_second=100))
    run = run_editor(editor, tmp_path, model, s.SOURCE, undo=True)
    check_ok(run)
    return run


def unicode_run(editor: str, model: ScriptedModelServer, tmp_path: Path) -> EditorRun:
    """The rewrite of s.UNICODE_SOURCE in ``editor``, in a file named with an emoji
    (see ``check_unicode``)."""
    model.enqueue(text_reply(s.UNICODE_REPLY, tokens_per_second=80))
    run = run_editor(editor, tmp_path, model, s.UNICODE_SOURCE, filename="données_😀.py")
    check_ok(run)
    return run
