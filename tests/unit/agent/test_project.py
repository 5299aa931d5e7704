"""AGENTS.md / CLAUDE.md from the root down to the task's folder, nearest kept first."""

from __future__ import annotations

from pathlib import Path

from agentls.agent.project import project_instructions


def test_instructions_from_root_down_in_order_and_capped(tmp_path: Path) -> None:
    (tmp_path / "AGENTS.md").write_text("Use tabs.\n")
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "CLAUDE.md").write_text("Run pytest -q.\n")
    (tmp_path / "pkg" / "sub" / "AGENTS.md").write_text("Sub rules: " + "x" * 100)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "AGENTS.md").write_text("not on the way\n")
    text = project_instructions(tmp_path, tmp_path / "pkg" / "sub")
    assert (
        text.index("## AGENTS.md")
        < text.index("## pkg/CLAUDE.md")
        < text.index("## pkg/sub/AGENTS.md")
    )
    assert "not on the way" not in text
    capped = project_instructions(tmp_path, tmp_path / "pkg" / "sub", cap=60)
    assert "Sub rules" in capped and "Use tabs" not in capped  # the nearest wins the space
    assert "cut at the 60-character cap" in capped
    assert project_instructions(tmp_path, tmp_path.parent) == project_instructions(tmp_path)
