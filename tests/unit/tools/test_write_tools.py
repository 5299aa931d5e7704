"""edit_file, write_file, delete_file on disk: confined, matched in layers, diffed."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentls.context.files import WorkspaceFiles
from agentls.tools.workspace import ToolDenied, Workspace
from agentls.tools.write import DiskSink, WriteTools
from tests.unit.context.workspace import SECRET, make_workspace


@pytest.fixture
def tools(tmp_path: Path) -> WriteTools:
    root = make_workspace(tmp_path / "ws")
    (root / ".git" / "hooks").mkdir(parents=True)
    return WriteTools(Workspace(WorkspaceFiles(root)), DiskSink(root))


async def test_edit_write_delete_and_the_diff(tools: WriteTools) -> None:
    root = tools.ws.root
    said = await tools.edit_file(
        "app/models.py", "  def display(self) -> str:\n    return self.name.title()",
        "  def display(self) -> str:\n    return self.name.upper()",
    )  # fmt: skip
    assert said == "app/models.py: edited at line 7 (matched ignoring indentation)"
    assert "        return self.name.upper()\n" in (root / "app/models.py").read_text()
    assert await tools.write_file("app/extra.py", "X = 1\n") == "app/extra.py: created (1 lines)"
    assert await tools.delete_file("web/format.ts") == "web/format.ts: deleted"
    assert not (root / "web/format.ts").exists()
    diff = tools.sink.diff()  # type: ignore[attr-defined]
    assert "--- a/app/models.py" in diff and "+        return self.name.upper()" in diff
    assert "--- /dev/null\n+++ b/app/extra.py" in diff
    assert "--- a/web/format.ts\n+++ /dev/null" in diff
    assert tools.edited == ["app/models.py", "app/extra.py", "web/format.ts"]


async def test_a_miss_changes_nothing_and_shows_the_closest_lines(tools: WriteTools) -> None:
    before = (tools.ws.root / "app/text.py").read_text()
    with pytest.raises(ToolDenied) as denied:
        await tools.edit_file("app/text.py", "def slugify(text):\n    return text", "pass")
    assert "closest lines" in str(denied.value) and "def slugify(value: str)" in str(denied.value)
    assert (tools.ws.root / "app/text.py").read_text() == before


@pytest.mark.parametrize(
    ("path", "why"),
    [
        (".git/hooks/pre-commit", ".git/ internals are read-only"),
        (".env", "a secret file"),
        ("deploy/.env.production", "a secret file"),
        ("../escape.py", "outside the workspace"),
        ("build/new.py", "ignored"),
    ],
)
async def test_writes_outside_or_into_protected_places_are_refused(
    tools: WriteTools, path: str, why: str
) -> None:
    with pytest.raises(ToolDenied, match=why):
        await tools.write_file(path, "import os; os.system('boom')\n")
    assert not (tools.ws.root / path).exists() or path == ".env"
    assert SECRET in (tools.ws.root / ".env").read_text()  # untouched
    assert not (tools.ws.root.parent / "escape.py").exists()


async def test_a_file_changed_since_the_model_read_it_is_not_overwritten(
    tools: WriteTools,
) -> None:
    from agentls.tools.read import read_file

    read_file(tools.ws, "app/text.py")
    user = (tools.ws.root / "app/text.py").read_text() + "\n\ndef mine():\n    return 'user'\n"
    (tools.ws.root / "app/text.py").write_text(user)  # the user types and saves meanwhile
    with pytest.raises(ToolDenied, match="changed since you read it"):
        await tools.write_file("app/text.py", "def slugify(v):\n    return v\n")
    with pytest.raises(ToolDenied, match="changed since you read it"):
        await tools.delete_file("app/text.py")
    assert (tools.ws.root / "app/text.py").read_text() == user
    # edit_file quotes what it replaces: the user's new function stays.
    await tools.edit_file("app/text.py", "value.lower()", "value.casefold()")
    assert "def mine()" in (tools.ws.root / "app/text.py").read_text()
    read_file(tools.ws, "app/text.py")  # read again: now it may rewrite it
    assert "rewrote" in await tools.write_file("app/text.py", "X = 1\n")


async def test_the_diff_does_not_follow_a_link_a_command_left(tools: WriteTools) -> None:
    """A command replaced an edited file with a link to /dev/zero (read without end) and
    another with a link to a file outside the workspace: the diff reads neither."""
    root = tools.ws.root
    outside = root.parent / "private.txt"
    outside.write_text("OUTSIDE-CANARY\n")
    await tools.write_file("app/extra.py", "X = 1\n")
    await tools.write_file("app/other.py", "Y = 2\n")
    (root / "app/extra.py").unlink()
    (root / "app/extra.py").symlink_to("/dev/zero")
    (root / "app/other.py").unlink()
    (root / "app/other.py").symlink_to(outside)
    diff = tools.sink.diff()  # type: ignore[attr-defined]
    assert "OUTSIDE-CANARY" not in diff
    assert "+(agentls: now a symbolic link; not shown)" in diff
