"""Fixtures of the real-editor tests: the editors themselves and a scripted model."""

from __future__ import annotations

import pytest

from tests.editors.harness import ensure_editors


@pytest.fixture(scope="session", autouse=True)
def editors_installed() -> None:
    """Install Neovim/Emacs/eglot when missing (as root), else fail; never skip."""
    ensure_editors()
