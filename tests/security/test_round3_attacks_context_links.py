"""Round-three attack: the context engine reads outside the workspace through a link a
command left (issue 12, independent pass).

The index is built from regular files only (``WorkspaceFiles.walk`` skips symlinks),
and the tools refuse any path that resolves outside the workspace. But a full-auto
command may replace an indexed file with a symlink (in the sandbox the target need not
exist: it is only text). On the host, the engine then reads the file by its indexed
path: ``ContextEngine.lines_of`` (``read_text`` through the link, for every snippet) and
``WorkspaceIndex.update`` (``is_file``/``open`` through the link, on a watched-file
event). The next task's context (or the rewrite prompt of ``agentls.run``) then holds
a file the user never put in the workspace: another project's code, a dotfile.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agentls.context.engine import ContextEngine


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setenv("AGENTLS_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "project"
    root.mkdir()
    (root / "lib.py").write_text("def helper():\n    return 1\n")
    (root / "main.py").write_text("from lib import helper\n\ndef main():\n    return helper()\n")
    private = tmp_path / "other-project" / "private.py"
    private.parent.mkdir()
    private.write_text('def private_helper(key="OUTSIDE-CANARY"):\n    return "OUTSIDE-BODY"\n')
    return root, private


def _swap_for_link(root: Path, target: Path) -> None:
    """What `rm lib.py; ln -s <target> lib.py` in the sandbox leaves on the disk."""
    (root / "lib.py").unlink()
    os.symlink(target, root / "lib.py")


def _built(root: Path) -> ContextEngine:
    engine = ContextEngine(root, workers=1)
    engine.build()
    return engine


def _context_of_main(engine: ContextEngine, root: Path) -> str:
    """The context rendered for main.py, line 3 (its call of helper)."""
    return engine.select(str(root / "main.py"), 3, 10, 2000).render()


def test_the_context_of_an_untouched_workspace_is_its_own(layout: tuple[Path, Path]) -> None:
    """The control: before the swap, the context holds the workspace's lib.py."""
    root, _private = layout
    engine = _built(root)
    text = _context_of_main(engine, root)
    assert "def helper" in text


def test_a_file_swapped_for_a_link_does_not_bring_outside_text_into_the_context(
    layout: tuple[Path, Path],
) -> None:
    root, private = layout
    engine = _built(root)
    _swap_for_link(root, private)
    text = _context_of_main(engine, root)
    assert "OUTSIDE" not in text


def test_a_watched_file_event_does_not_index_a_link_to_outside(
    layout: tuple[Path, Path],
) -> None:
    root, private = layout
    engine = _built(root)
    _swap_for_link(root, private)
    engine.file_changed(str(root / "lib.py"))
    assert not engine.index.definitions("private_helper")
