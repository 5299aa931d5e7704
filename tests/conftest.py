"""Fixtures shared by every test tier."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.model_server import ScriptedModelServer


@pytest.fixture
def model() -> Iterator[ScriptedModelServer]:
    """The scripted model server on its own thread (for subprocess-driven tests);
    tests/lsp overrides it with one on the test's own event loop."""
    server = ScriptedModelServer()
    server.start_in_thread()
    try:
        yield server
    finally:
        server.stop_in_thread()
