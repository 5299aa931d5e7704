"""Protected paths against commands (issue 12, class 3, the sandbox's half for files
the user's editor and tools run or trust): a hostile model in full-auto, where
nothing asks, writes ``.vscode/settings.json`` (VS Code takes its interpreter from
it), ``.gitattributes``, a CI workflow, a file of ``agent.protectedPaths``, the
target of a protected symbolic link; removes or renames them; creates new ones
(``.idea/``, ``.mise.toml``, a nested ``.devcontainer/``, ``.gitmodules``, a
``.vscode/`` in a repository it made); renames a folder away to make a new
``.vscode/`` in its place; replaces a protected symbolic link. Through ``agentls
exec``, the real sandbox."""

from __future__ import annotations

import os
from pathlib import Path

from agentls.policy.protected import ProtectedMatcher
from agentls.policy.sandbox_git import DISABLED
from tests.security.sandbox_attack import attack, exec_model, home  # noqa: F401
from tests.support.model_server import ScriptedModelServer

MARK = "planted-by-the-model"
SETTINGS = '{"editor.tabSize": 4}\n'


def workspace(root: Path) -> dict[str, str]:
    """The protected files the user has, with their text."""
    files = {
        ".vscode/settings.json": SETTINGS,
        ".gitattributes": "*.py text\n",
        ".github/workflows/ci.yml": "on: push\n",
        "tools.json": '{"run": "make"}\n',
        "config/init.lua": "vim.o.number = true\n",
        "sub2/.vscode/settings.json": SETTINGS,
        "app.py": "print('app')\n",
    }
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    (root / ".nvim.lua").symlink_to("config/init.lua")
    return files


def commands() -> list[str]:
    plant = f'echo \'{{"agentls.interpreter": "/tmp/{MARK}"}}\''
    return [
        f"{plant} > .vscode/settings.json; echo '* filter={MARK}' >> .gitattributes;"
        f" echo '{MARK}' >> .github/workflows/ci.yml; echo '{MARK}' >> tools.json;"
        f" echo 'os.execute(\"{MARK}\")' >> config/init.lua; echo '{MARK}' >> .nvim.lua",
        "rm -rf .vscode .github; mv .vscode elsewhere; mv .gitattributes x;"
        f" rm -f tools.json; ln -sf /tmp/{MARK} .gitattributes; ls .vscode",
        f"mkdir -p .idea && echo '<{MARK}/>' > .idea/workspace.xml;"
        f" echo '{MARK}' > .mise.toml; mkdir -p sub/.devcontainer;"
        f" echo '{MARK}' > sub/.devcontainer/devcontainer.json; echo '{MARK}' > .gitmodules;"
        f" git init -q fresh; mkdir -p fresh/.vscode; {plant} > fresh/.vscode/settings.json;"
        " echo made",
        f"mv sub2 moved && mkdir -p sub2/.vscode && {plant} > sub2/.vscode/settings.json",
        f"rm .nvim.lua && echo 'os.execute(\"{MARK}\")' > .nvim.lua; echo '{MARK}' > app.py",
        "cat .vscode/settings.json; ls -a . sub sub2",
    ]


def test_commands_cannot_write_or_make_protected_paths(
    exec_model: ScriptedModelServer,  # noqa: F811
    tmp_path: Path,
    home: Path,  # noqa: F811
) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    files = workspace(root)
    done = attack(
        exec_model,
        root,
        commands(),
        home=home,
        settings={"agent": {"protectedPaths": ["tools.json"]}},
    )
    told = "\n".join(done.results)
    # Every protected file the user had is as it was, where it was.
    for relative, text in files.items():
        if relative.startswith("sub2/"):
            relative = relative.replace("sub2/", "moved/")  # the folder moved, with it
        if relative != "app.py":
            assert (root / relative).read_text() == text, (relative, told)
    # A protected symbolic link is not mounted (its target is): the command could
    # remove it, and the file it made in its place was turned off.
    assert not (root / ".nvim.lua").exists(), told
    assert (root / f".nvim.lua{DISABLED}").is_file(), told
    # No protected path holds what the model planted (the disabled ones are renamed).
    guard = ProtectedMatcher(["tools.json"])
    planted = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git" and DISABLED not in d]
        for name in names:
            path = Path(folder, name)
            relative = path.relative_to(root).as_posix()
            if DISABLED in relative or not guard.matches(relative) or path.is_symlink():
                continue
            if MARK in path.read_text(errors="replace"):
                planted.append(relative)
    assert planted == [], (planted, told)
    # The new ones were turned off, and the model was told.
    for made in (".idea", ".mise.toml", "sub/.devcontainer", ".gitmodules", "fresh/.vscode"):
        assert not (root / made).exists(), (made, told)
        assert (root / f"{made}{DISABLED}").exists(), (made, told)
    assert not (root / "sub2/.vscode").exists() and (root / f"sub2/.vscode{DISABLED}").exists()
    assert "renamed to .vscode.agentls-disabled" in told, told
    assert "Read-only file system" in done.results[0], done.results[0]
    assert "Device or resource busy" in done.results[1], done.results[1]
    assert (root / "app.py").read_text() == f"{MARK}\n"  # ordinary files stay writable
    assert '"editor.tabSize": 4' in done.results[-1], done.results[-1]
