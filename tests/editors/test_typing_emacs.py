"""Emacs 28 + eglot 1.9 (batch): the user types while agentls works (issue 11).

Each flow runs twice: with eglot's didChange from its (idle) timer alone, and with
didChange also sent right after each edit eglot applies (see ``eglot_driver.el``).
The user's own typing is always reported by eglot's timer, 0.5 s later. The flows
and their checks are in ``scenarios_typing``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.editors import scenarios_typing as st
from tests.support.model_server import ScriptedModelServer

pytestmark = [
    pytest.mark.editor,
    pytest.mark.parametrize(
        "flush", [True, False], ids=["flush-didChange-advice", "idle-timer-only"]
    ),
]

EDITOR = "emacs"


def test_typing_at_the_top_while_the_model_is_silent(
    model: ScriptedModelServer, tmp_path: Path, flush: bool
) -> None:
    st.typing_while_the_model_is_silent(EDITOR, model, tmp_path, flush_did_change=flush)


def test_typing_inside_the_region_mid_stream_then_undo(
    model: ScriptedModelServer, tmp_path: Path, flush: bool
) -> None:
    st.typing_inside_the_region_then_undo(EDITOR, model, tmp_path, flush_did_change=flush)


def test_typing_while_the_full_agent_edits_the_buffer(
    model: ScriptedModelServer, tmp_path: Path, flush: bool
) -> None:
    st.typing_while_the_agent_edits(EDITOR, model, tmp_path, flush_did_change=flush)


def test_typing_during_the_undo_of_a_rewrite(
    model: ScriptedModelServer, tmp_path: Path, flush: bool
) -> None:
    st.typing_during_the_rewrite_undo(EDITOR, model, tmp_path, flush_did_change=flush)


def test_typing_during_the_undo_of_the_full_agent(
    model: ScriptedModelServer, tmp_path: Path, flush: bool
) -> None:
    st.typing_during_the_agent_undo(EDITOR, model, tmp_path, flush_did_change=flush)
