"""Undo that missed changes (issue 12, class 8): files changed by ``run_command`` were in
neither ``editedFiles`` nor the exec diff, and ``agentls.undo`` said "restored 1 file"
and left them. Now each command runs between two snapshots of the workspace (a shadow
git repository in the cache folder, outside the workspace) and undo puts back what
it changed, refusing per file when a file changed again since.

Over LSP and ``agentls exec`` (real server, real bubblewrap, scripted model server)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentls.policy.sandbox import sandbox_available
from tests.security.sandbox_attack import exec_model  # noqa: F401 (a fixture)
from tests.support.lsp_session import command, lsp_session, model_options, run
from tests.support.model_server import ScriptedModelServer, tool_call_reply

pytestmark = pytest.mark.skipif(
    not sandbox_available().available, reason="bubblewrap does not work here"
)

# What a hostile (or careless) model's commands do to the workspace.
COMMANDS = [
    "sed -i 's/return 0/return 1/' app/main.py",
    "rm app/old.py && mkdir -p app/gen && printf 'x = 1\\n' > app/gen/new.py",
    "printf '\\000\\001\\377' > app/blob.bin && chmod +x app/run.sh"
    " && printf 'echo hi\\n' >> app/run.sh",
    "ln -sf main.py app/link.py && printf 'a\\r\\nb\\r\\n' > app/crlf.txt",
]
CHANGED = [
    "app/blob.bin",
    "app/crlf.txt",
    "app/gen/new.py",
    "app/link.py",
    "app/main.py",
    "app/old.py",
    "app/run.sh",
]


def workspace(root: Path) -> Path:
    (root / "app").mkdir(parents=True)
    (root / "app/main.py").write_text("def main() -> int:\n    return 0\n")
    (root / "app/old.py").write_text("OLD = True\n")
    (root / "app/run.sh").write_text("#!/bin/sh\n")
    (root / "app/crlf.txt").write_bytes(b"one\r\ntwo\r\n")
    (root / ".gitignore").write_text("build/\n")
    (root / "build").mkdir()
    (root / "notes.md").write_text("# notes\n")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "app/main.py"], check=True)
    return root


def tree(root: Path) -> dict[str, str]:
    """Every entry below ``root`` (but .git): its kind, mode and content hash."""
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if relative.split("/")[0] == ".git":
            continue
        if path.is_symlink():
            out[relative] = f"link {os.readlink(path)}"
        elif path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            out[relative] = f"file {path.stat().st_mode & 0o777:o} {digest}"
        else:
            out[relative] = "dir"
    return out


def script(model: ScriptedModelServer) -> None:
    model.enqueue(
        *[tool_call_reply([("run_command", {"command": c})]) for c in COMMANDS],
        tool_call_reply([("finish", {"summary": "changed things"})]),
    )


async def test_what_commands_change_is_listed_and_undone(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = workspace(tmp_path / "ws")
    before = tree(root)
    script(model)
    settings = {**model_options(model.base_url), "agent": {"approval": "full-auto"}}
    env = {"AGENTLS_CACHE_DIR": str(tmp_path / "cache")}
    async with lsp_session(settings, root_uri=root.as_uri(), env=env) as (client, _):
        result = await run(client, {"instruction": "change things"})
        assert result["status"] == "done", result
        assert sorted(result["editedFiles"]) == [(root / p).as_uri() for p in CHANGED]
        last = model.requests[-1]["messages"]
        results = [m["content"] for m in last if m["role"] == "tool"]
        assert "[files it changed: app/main.py]" in results[0], results[0]
        assert tree(root) != before
        undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        assert undone["status"] == "undone", undone
        assert "restored what commands changed: " + ", ".join(CHANGED) in undone["message"]
    after = tree(root)
    assert {k: v for k, v in after.items() if k != "app/gen"} == before  # (a folder stays)
    # The snapshots live outside the workspace, in the cache folder.
    assert not any(".agentls" in p or "checkpoints" in p for p in after)
    assert list((tmp_path / "cache" / "checkpoints").iterdir())


async def test_a_file_changed_again_is_refused_alone(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = workspace(tmp_path / "ws")
    before = tree(root)
    script(model)
    settings = {**model_options(model.base_url), "agent": {"approval": "full-auto"}}
    env = {"AGENTLS_CACHE_DIR": str(tmp_path / "cache")}
    async with lsp_session(settings, root_uri=root.as_uri(), env=env) as (client, _):
        result = await run(client, {"instruction": "change things"})
        assert result["status"] == "done", result
        (root / "app/main.py").write_text("# the user's own change\n")
        undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        assert undone["status"] == "refused", undone
        assert "app/main.py (changed since the command" in undone["message"]
        assert (root / "app/main.py").read_text() == "# the user's own change\n"
        rest = {k: v for k, v in tree(root).items() if k not in ("app/main.py", "app/gen")}
        assert rest == {k: v for k, v in before.items() if k != "app/main.py"}


async def test_a_tool_edit_and_a_command_change_undo_together(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """edit_file goes through the editor, the command to the disk: one undo, both back."""
    root = workspace(tmp_path / "ws")
    before = tree(root)
    model.enqueue(
        tool_call_reply(
            [("edit_file", {"path": "notes.md", "old_string": "# notes", "new_string": "# N"})]
        ),
        tool_call_reply([("run_command", {"command": COMMANDS[0]})]),
        tool_call_reply([("finish", {"summary": "both"})]),
    )
    settings = {**model_options(model.base_url), "agent": {"approval": "full-auto"}}
    env = {"AGENTLS_CACHE_DIR": str(tmp_path / "cache")}
    async with lsp_session(settings, root_uri=root.as_uri(), env=env) as (client, editor):
        result = await run(client, {"instruction": "both"})
        assert result["status"] == "done", result
        notes = (root / "notes.md").as_uri()
        assert set(result["editedFiles"]) == {notes, (root / "app/main.py").as_uri()}
        undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
        assert undone["status"] == "undone", undone
        assert editor.text(notes) == "# notes\n"
    assert tree(root) == before


def test_agentls_exec_prints_what_commands_changed(
    exec_model: ScriptedModelServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    root = workspace(tmp_path / "ws")
    script(exec_model)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTLS_"))}
    env.update(
        OPENAI_BASE_URL=exec_model.base_url,
        AGENTLS_MODEL="scripted-model",
        AGENTLS_CACHE_DIR=str(tmp_path / "cache"),
    )
    done = subprocess.run(
        [sys.executable, "-m", "agentls", "exec", "change things", "--approval", "full-auto",
         "--workspace", str(root), "--settings", json.dumps({})],
        cwd=root, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "-    return 0\n+    return 1\n" in done.stdout
    assert "+++ b/app/gen/new.py" in done.stdout and "--- a/app/old.py" in done.stdout
    assert "Binary files a/app/blob.bin and b/app/blob.bin differ" in done.stdout
    assert f"{len(CHANGED)} files edited" in done.stderr, done.stderr


async def test_undo_never_writes_through_a_folder_a_command_turned_into_a_link(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """A command deletes files, another tries to hide their folder from the snapshots
    (via .gitignore: read-only to commands now) and puts a link to a folder outside in
    its place: undo (run on the host, outside the sandbox) must not write the deleted
    files out there; it removes the link first (a change the snapshots recorded) and
    restores the folder, or refuses."""
    root = workspace(tmp_path / "ws")
    outside = tmp_path / "outside"
    outside.mkdir()
    model.enqueue(
        tool_call_reply([("run_command", {"command": "rm app/old.py"})]),
        tool_call_reply(
            [
                (
                    "run_command",
                    {"command": f"echo app >> .gitignore; rm -rf app && ln -s {outside} app"},
                )
            ]
        ),
        tool_call_reply([("finish", {"summary": "moved"})]),
    )
    settings = {**model_options(model.base_url), "agent": {"approval": "full-auto"}}
    env = {"AGENTLS_CACHE_DIR": str(tmp_path / "cache")}
    async with lsp_session(settings, root_uri=root.as_uri(), env=env) as (client, _):
        result = await run(client, {"instruction": "move"})
        assert result["status"] == "done", result
        undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
    assert list(outside.iterdir()) == []
    assert (root / ".gitignore").read_text() == "build/\n"
    if undone["status"] == "refused":
        assert "(a folder on its path is a symbolic link now" in undone["message"], undone
    else:
        assert not (root / "app").is_symlink() and (root / "app/old.py").is_file(), undone


async def test_a_command_cannot_hide_its_changes_from_undo_in_ignored_files(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """Ignored files (``build/`` in the workspace's .gitignore) were not snapshotted: a
    command could change, plant or delete them there and undo left them. A new
    ignore pattern is no way out either: .gitignore is read-only to commands, a new
    one is turned off."""
    root = workspace(tmp_path / "ws")
    (root / "build/app.js").write_text("console.log('built')\n")
    (root / "build/keep.txt").write_text("keep\n")
    before = tree(root)
    model.enqueue(
        tool_call_reply(
            [
                (
                    "run_command",
                    {
                        "command": "echo 'fetch(evil)' >> build/app.js && touch build/planted.sh"
                        " && rm build/keep.txt; echo 'planted*' >> .gitignore;"
                        " echo 'hidden*' > app/.gitignore; touch app/hidden.sh planted.sh"
                    },
                )
            ]
        ),
        tool_call_reply([("finish", {"summary": "planted"})]),
    )
    settings = {**model_options(model.base_url), "agent": {"approval": "full-auto"}}
    env = {"AGENTLS_CACHE_DIR": str(tmp_path / "cache")}
    async with lsp_session(settings, root_uri=root.as_uri(), env=env) as (client, _):
        result = await run(client, {"instruction": "plant"})
        for planted in ("build/app.js", "build/planted.sh", "build/keep.txt", "planted.sh"):
            assert (root / planted).as_uri() in result["editedFiles"], result
        undone = await command(client, "agentls.undo", {"taskId": result["taskId"]})
    assert undone["status"] == "undone", undone
    assert tree(root) == before, undone


async def test_the_users_save_during_a_command_is_not_taken_for_the_commands(
    model: ScriptedModelServer, tmp_path: Path
) -> None:
    """The user saves an unsaved buffer while a command runs (commands see that file
    read-only): the save is not the command's change, and undo leaves it."""
    root = workspace(tmp_path / "ws")
    model.enqueue(
        tool_call_reply([("run_command", {"command": "touch started && sleep 3"})]),
        tool_call_reply([("finish", {"summary": "waited"})]),
    )
    settings = {**model_options(model.base_url), "agent": {"approval": "full-auto"}}
    env = {"AGENTLS_CACHE_DIR": str(tmp_path / "cache")}
    saved = "def main() -> int:\n    return 42\n"
    async with lsp_session(settings, root_uri=root.as_uri(), env=env) as (client, editor):
        uri = (root / "app/main.py").as_uri()
        editor.open(uri, saved)  # unsaved in the editor
        task = asyncio.create_task(run(client, {"instruction": "wait"}))
        while not (root / "started").exists():
            await asyncio.sleep(0.05)
        (root / "app/main.py").write_text(saved)  # the user saves, mid-command
        result = await task
        assert result["status"] == "done", result
        assert uri not in result["editedFiles"], result["editedFiles"]
        await command(client, "agentls.undo", {"taskId": result["taskId"]})
    assert (root / "app/main.py").read_text() == saved
    assert not (root / "started").exists()
