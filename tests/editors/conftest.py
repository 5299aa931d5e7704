"""Fixtures of the real-editor tests: the editors themselves and a scripted model."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.editors.harness import ensure_editors
from tests.support.model_server import ScriptedModelServer


@pytest.fixture(scope="session", autouse=True)
def editors_installed() -> None:
    """Install Neovim/Emacs/eglot when missing (as root), else fail; never skip."""
    ensure_editors()


@pytest.fixture
def model() -> Iterator[ScriptedModelServer]:
    server = ScriptedModelServer()
    server.start_in_thread()
    try:
        yield server
    finally:
        server.stop_in_thread()
