"""Code that runs later on the host (issue 12, class 3, the tools' side): files that
editors and tools run or trust ask in every mode, and version-control internals in any
layout (a bare repository behind a ``.git`` file, a worktree, a submodule's git folder,
other VCSs, a repository shape made file by file) are never written or read by tools.

Over LSP with the real server in full-auto with ``allowPaths: ["**"]`` (nothing else
would ask), the real git for the layouts, and over ``agentls exec`` in auto-edit.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agentls.policy.protected import protected_why
from agentls.tools.workspace import ToolDenied
from agentls.tools.write import DiskSink
from tests.support.lsp_session import lsp_session, model_options, run
from tests.support.model_server import ScriptedModelServer, tool_call_reply

PROTECTED_WRITES = [
    (".vscode/settings.json", '{"agentls.interpreter": "/tmp/evil"}\n'),
    (".vscode/tasks.json", '{"tasks": [{"runOptions": {"runOn": "folderOpen"}}]}\n'),
    (".gitattributes", "* filter=evil\n"),
    (".gitmodules", '[submodule "x"]\n\tupdate = !sh evil\n'),
    ("sub/.gitconfig", "[core]\n\tfsmonitor = evil\n"),
    (".devcontainer/devcontainer.json", '{"initializeCommand": "evil"}\n'),
    (".idea/workspace.xml", "<project/>\n"),
    (".mcp.json", '{"mcpServers": {"x": {"command": "evil"}}}\n'),
    (".pre-commit-config.yaml", "repos: []\n"),
    (".dir-locals.el", "((nil . ((eglot-workspace-configuration . nil))))\n"),
    (".agentlsignore", "!*\n"),
    ("Makefile", "all:\n\tevil\n"),  # protected only through agent.protectedPaths
]


def settings(model: ScriptedModelServer, **agent: Any) -> dict[str, Any]:
    rules = {"approval": "full-auto", "allowPaths": ["**"], "askTimeout": 5, **agent}
    return {**model_options(model.base_url), "agent": rules}


def tool_results(model: ScriptedModelServer) -> list[str]:
    return [m["content"] for m in model.requests[-1]["messages"] if m["role"] == "tool"]


def written(editor: Any) -> list[str]:
    """The files the editor was asked to create or change (applied)."""
    names: list[str] = []
    for entry in editor.log + editor.resource_log:
        names.append(json.dumps(entry, default=str))
    return names


async def test_protected_files_ask_in_full_auto_even_over_an_allow_rule(
    model_server: ScriptedModelServer, tmp_path: Path
) -> None:
    root = tmp_path / "ws"
    (root / "sub").mkdir(parents=True)
    calls = [("write_file", {"path": p, "content": c}) for p, c in PROTECTED_WRITES]
    calls.append(("write_file", {"path": "app/ok.py", "content": "x = 1\n"}))
    model_server.enqueue(
        *[tool_call_reply([call]) for call in calls],
        tool_call_reply([("finish", {"summary": "done"})]),
    )
    env = {"AGENTLS_CACHE_DIR": str(tmp_path / "cache")}
    options = settings(model_server, protectedPaths=["Makefile"])
    async with lsp_session(options, root_uri=root.as_uri(), env=env) as (client, editor):
        editor.answers = ["Deny"] * (len(PROTECTED_WRITES) - 1) + ["Allow once"]
        result = await run(client, {"instruction": "set up the project"})
        assert result["status"] == "done", result
    asked = editor.asked
    assert len(asked) == len(PROTECTED_WRITES), asked  # app/ok.py: no question
    for (path, _), message in zip(PROTECTED_WRITES, asked, strict=True):
        assert f"create {path} (protected: " in message, message
    assert "agent.protectedPaths" in asked[-1]
    results = tool_results(model_server)
    for (path, _), said in zip(PROTECTED_WRITES[:-1], results, strict=False):
        assert f"{path}: not changed: the user did not allow it" in said, said
    assert "Makefile: created" in results[len(PROTECTED_WRITES) - 1]
    assert "app/ok.py: created" in results[len(PROTECTED_WRITES)]
    sent = "\n".join(written(editor))
    assert "Makefile" in sent and "app/ok.py" in sent
    for path, _ in PROTECTED_WRITES[:-1]:
        assert path.rsplit("/", 1)[-1] not in sent, path


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def vcs_layouts(base: Path) -> Path:
    """A workspace holding every layout git (and others) use."""
    root = base / "ws"
    root.mkdir()
    env_git = ["-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"]
    git("init", "-q", "--bare", ".bare", cwd=root)  # bare repository + gitdir file
    (root / ".git").write_text("gitdir: ./.bare\n")
    git("config", "core.bare", "false", cwd=root)
    (root / "a.txt").write_text("a\n")
    git(*env_git, "add", "a.txt", cwd=root)
    git(*env_git, "commit", "-qm", "a", cwd=root)
    git(*env_git, "worktree", "add", "-q", "wt", cwd=root)  # a worktree: wt/.git is a file
    (root / "repo2").mkdir()
    git("init", "-q", str(root / "repo2"), cwd=root)
    (root / "repo2/.git/modules/lib").mkdir(parents=True)  # a submodule's git folder
    (root / "repo2/.git/modules/lib/config").write_text("[core]\n")
    (root / ".hg").mkdir()
    (root / ".hg/hgrc").write_text("[hooks]\n")
    (root / "odd").mkdir()
    (root / "odd/HEAD").write_text("ref: refs/heads/main\n")  # a repository shape begun
    return root


async def test_version_control_internals_in_any_layout_are_not_for_tools(
    model_server: ScriptedModelServer, tmp_path: Path
) -> None:
    root = vcs_layouts(tmp_path)
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    hook = "#!/bin/sh\ntouch /tmp/pwned\n"
    attacks: list[tuple[str, dict[str, Any]]] = [
        ("write_file", {"path": ".bare/hooks/pre-commit", "content": hook}),
        ("write_file", {"path": ".bare/config", "content": "[core]\n\tfsmonitor = evil\n"}),
        ("read_file", {"path": ".bare/config"}),
        ("write_file", {"path": ".git", "content": "gitdir: /tmp/evil\n"}),
        ("write_file", {"path": "wt/.git", "content": "gitdir: /tmp/evil\n"}),
        ("list_files", {"path": ".bare"}),
        ("write_file", {"path": "repo2/.git/modules/lib/hooks/post-checkout", "content": hook}),
        ("write_file", {"path": ".hg/hgrc", "content": "[hooks]\nupdate = evil\n"}),
        ("write_file", {"path": "odd/objects/info/x", "content": "x\n"}),  # 2nd marker
        ("write_file", {"path": "odd/refs/heads/main", "content": "0" * 40 + "\n"}),
        ("write_file", {"path": "wt/b.txt", "content": "b\n"}),  # a plain file: fine
    ]
    model_server.enqueue(
        *[tool_call_reply([call]) for call in attacks],
        tool_call_reply([("finish", {"summary": "done"})]),
    )
    env = {"AGENTLS_CACHE_DIR": str(tmp_path / "cache")}
    async with lsp_session(settings(model_server), root_uri=root.as_uri(), env=env) as (
        client,
        editor,
    ):
        result = await run(client, {"instruction": "tidy"})
        assert result["status"] == "done", result
    results = tool_results(model_server)
    for (name, arguments), said in zip(attacks[:-1], results, strict=False):
        assert said.startswith("error:") and "internals" in said, (name, arguments, said)
    assert "wt/b.txt: created" in results[-1], results[-1]
    assert editor.asked == []
    sent = "\n".join(written(editor))
    assert "wt/b.txt" in sent
    for name in (".bare", "modules", ".hg", "odd", '.git"'):
        assert name not in sent, name
    after = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    after.pop(root / "wt/b.txt")  # created by the editor (its text lives in the buffer)
    assert after == before


async def test_exec_in_auto_edit_asks_for_a_protected_file(
    model_server: ScriptedModelServer, tmp_path: Path
) -> None:
    """``agentls exec`` (disk writes) in auto-edit: the write asks; no terminal: no."""
    root = tmp_path / "ws"
    root.mkdir()
    model_server.enqueue(
        tool_call_reply(
            [("write_file", {"path": ".vscode/settings.json", "content": '{"x": 1}\n'})]
        ),
        tool_call_reply([("write_file", {"path": "ok.py", "content": "x = 1\n"})]),
        tool_call_reply([("finish", {"summary": "done"})]),
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTLS_"))}
    env.update(OPENAI_BASE_URL=model_server.base_url, AGENTLS_MODEL="scripted-model")
    env["AGENTLS_CACHE_DIR"] = str(tmp_path / "cache")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agentls", "exec", "task", "--workspace", str(root),
        "--approval", "auto-edit", stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode == 0, err.decode()
    assert not (root / ".vscode").exists()
    assert (root / "ok.py").read_text() == "x = 1\n"
    said = tool_results(model_server)
    assert ".vscode/settings.json: not changed: the user did not allow it" in said[0], said


def test_the_list_covers_what_tools_run_on_their_own() -> None:
    """``.envrc`` is also a secret by name (``.env*``), refused before it could ask;
    the protection holds on its own too."""
    tools_run = [".envrc", "a/.vscode/x", ".github/workflows/ci.yml", "x.code-workspace"]
    tools_run += [".claude/settings.json", ".husky/pre-commit", ".nvim.lua", "mise.toml"]
    for path in tools_run:
        assert protected_why(path), path
    for path in ("Makefile", "src/app.py", "package.json", "conftest.py", "vscode.py"):
        assert not protected_why(path), path
    assert protected_why("Makefile", ["Makefile"]) == "listed in agent.protectedPaths"


async def test_a_link_put_in_the_way_after_the_check_is_not_followed(tmp_path: Path) -> None:
    """The disk sink writes only where the tool's check resolved: a folder swapped for a
    symlink to outside (by a command between the check and the write) is refused."""
    root, outside = tmp_path / "ws", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "app").symlink_to(outside)  # was a folder when the path was checked
    sink = DiskSink(root.resolve())
    with pytest.raises(ToolDenied):
        await sink.write("app/x.txt", None, "escaped\n")
    (outside / "victim.txt").write_text("keep\n")
    with pytest.raises(ToolDenied):
        await sink.delete("app/victim.txt", "keep\n")
    assert sorted(p.name for p in outside.iterdir()) == ["victim.txt"]
