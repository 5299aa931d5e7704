"""Neovim 0.7: the user types while agentls works (issue 11: edits that never garble).

Neovim keeps its default didChange debounce (150 ms) and applies the edits with its
default workspace/applyEdit handler. The flows and their checks are in
``scenarios_typing``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.editors import scenarios_typing as st
from tests.support.model_server import ScriptedModelServer

pytestmark = pytest.mark.editor

EDITOR = "nvim"


def test_typing_at_the_top_while_the_model_is_silent(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    st.typing_while_the_model_is_silent(EDITOR, model, tmp_path)


def test_typing_inside_the_region_mid_stream_then_undo(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    st.typing_inside_the_region_then_undo(EDITOR, model, tmp_path)


def test_typing_while_the_full_agent_edits_the_buffer(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    st.typing_while_the_agent_edits(EDITOR, model, tmp_path)


def test_typing_during_the_undo_of_a_rewrite(model: ScriptedModelServer, tmp_path: Path) -> None:
    st.typing_during_the_rewrite_undo(EDITOR, model, tmp_path)


def test_typing_during_the_undo_of_the_full_agent(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    st.typing_during_the_agent_undo(EDITOR, model, tmp_path)
