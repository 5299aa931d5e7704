"""Files the agent must not change unasked, and version-control internals it must not
touch at all.

**Protected paths** are files that the user's editor and tools run or trust on their
own, later, on the host (outside the sandbox), or that change what agentls itself
trusts. A write to one asks the user in every approval mode, full-auto included, even
over ``agent.allowPaths``; ``agent.protectedPaths`` adds gitignore-style patterns.
Ordinary project code (``Makefile``, ``package.json`` scripts, ``conftest.py``,
``setup.py``) is not on the list: it runs only when the user runs the project, and
every source file is such code; add it to ``agent.protectedPaths`` to be asked.

**VCS internals** (``version_control_internals``) are never read or written by tools:
every folder named ``.git``, ``.hg``, ``.svn``, ``.bzr``, ``_darcs``, ``.jj``, ``.pijul``,
``.sl``, ``CVS`` (and a ``.git`` file: a gitdir pointer), and every folder that git
would take for a repository whatever its name: a bare repository (``.bare/`` with
``HEAD``, ``objects/``, ``refs/``), a worktree's or submodule's git folder (``HEAD`` and
``commondir`` or ``gitdir``). A write that would make a folder look like one (its
second of ``HEAD``, ``objects``, ``refs``, ``commondir``, ``packed-refs``) is refused too.
"""

from __future__ import annotations

import functools
import os
import pwd
from collections.abc import Sequence
from pathlib import Path

import pathspec

from agentls.policy.path_patterns import PathPatterns

PROTECTED: dict[str, str] = {
    ".vscode/": "VS Code runs its tasks and takes its settings (interpreter, agentls)",
    "*.code-workspace": "VS Code takes its settings and tasks",
    ".idea/": "JetBrains IDEs run its run configurations and tools",
    ".fleet/": "Fleet takes its settings",
    ".zed/": "Zed takes its settings and tasks",
    ".helix/": "Helix takes its language servers from it",
    ".devcontainer/": "a dev container runs its commands on the host",
    ".devcontainer.json": "a dev container runs its commands on the host",
    ".envrc": "direnv runs it when the shell enters the folder",
    ".env.local.sh": "shell tools source it",
    ".git*": "git runs filters, hooks and programs it names",
    ".pre-commit-config.yaml": "pre-commit runs its hooks on the next commit",
    ".husky/": "git hooks run from it",
    ".lefthook.yml": "git hooks run from it",
    "lefthook.yml": "git hooks run from it",
    ".nvim.lua": "Neovim runs it (exrc)",
    ".nvimrc": "Neovim runs it (exrc)",
    ".exrc": "Vim and Neovim run it (exrc)",
    ".lazy.lua": "lazy.nvim runs it",
    ".dir-locals.el": "Emacs takes its variables (eglot's server settings)",
    ".dir-locals-2.el": "Emacs takes its variables (eglot's server settings)",
    ".mise.toml": "mise runs its hooks and tasks",
    "mise.toml": "mise runs its hooks and tasks",
    ".mise/": "mise runs its hooks and tasks",
    ".tool-versions": "asdf and mise choose the programs run from it",
    # Run by the editor's language tools when the folder or a file is opened.
    ".cargo/": "rust-analyzer runs cargo check, which runs the programs it names",
    "build.rs": "rust-analyzer runs build scripts when the project opens",
    "rust-toolchain": "rustup runs the toolchain it names (a path: any program)",
    "rust-toolchain.toml": "rustup runs the toolchain it names (a path: any program)",
    "eslint.config.*": "the ESLint extensions load (run) it when a file opens",
    ".eslintrc*": "the ESLint extensions load it and the parser and plugins it names",
    "prettier.config.*": "the Prettier extensions load (run) it when a file is formatted",
    ".prettierrc*": "the Prettier extensions load it and the plugins it names",
    "stylelint.config.*": "the Stylelint extension loads (runs) it",
    ".stylelintrc*": "the Stylelint extension loads it and the plugins it names",
    "tailwind.config.*": "the Tailwind CSS extension loads (runs) it",
    # More configs editor extensions load (run) when the folder or a file opens, in
    # every extension (.js, .cjs, .mjs, .ts, .cts, .mts, .json, ...).
    "svelte.config.*": "the Svelte extension loads (runs) it",
    "jest.config.*": "the Jest extension loads (runs) it",
    "vitest.config.*": "the Vitest extension loads (runs) it",
    "vitest.workspace.*": "the Vitest extension loads (runs) it",
    "playwright.config.*": "the Playwright extension loads (runs) it",
    "babel.config.*": "Babel (through the ESLint extension's parser) runs it",
    ".babelrc*": "Babel (through the ESLint extension's parser) loads it and its plugins",
    "postcss.config.*": "the PostCSS and Tailwind extensions load (run) it",
    ".postcssrc*": "the PostCSS and Tailwind extensions load it and its plugins",
    "vite.config.*": "the Vite, Vitest and Svelte extensions load (run) it",
    "astro.config.*": "the Astro extension loads (runs) it",
    "nuxt.config.*": "the Nuxt and Vue extensions load (run) it",
    "next.config.*": "Next.js tooling in the editor loads (runs) it",
    "webpack.config.*": "editor tooling loads (runs) it",
    "rollup.config.*": "editor tooling loads (runs) it",
    "uno.config.*": "the UnoCSS extension loads (runs) it",
    "unocss.config.*": "the UnoCSS extension loads (runs) it",
    "windi.config.*": "the Windi CSS extension loads (runs) it",
    "cypress.config.*": "the Cypress extension loads (runs) it",
    ".storybook/": "the Storybook extension loads (runs) its main file",
    # Shell and session start-up files (the home folder opened as the workspace): run
    # at the user's next shell or login.
    ".bashrc": "bash runs it at every shell",
    ".bash_profile": "bash runs it at login",
    ".bash_login": "bash runs it at login",
    ".bash_logout": "bash runs it at logout",
    ".bash_aliases": "bash runs it (from .bashrc)",
    ".profile": "the login shell runs it",
    ".zshrc": "zsh runs it at every shell",
    ".zshenv": "zsh runs it at every shell",
    ".zprofile": "zsh runs it at login",
    ".zlogin": "zsh runs it at login",
    ".zlogout": "zsh runs it at logout",
    ".cshrc": "csh runs it",
    ".tcshrc": "tcsh runs it",
    ".kshrc": "ksh runs it",
    ".mkshrc": "mksh runs it",
    ".xprofile": "the X session runs it",
    ".xinitrc": "the X session runs it",
    ".xsession": "the X session runs it",
    ".xsessionrc": "the X session runs it",
    ".pam_environment": "the login sets its variables (LD_PRELOAD)",
    ".vimrc": "Vim runs it",
    ".gvimrc": "Vim runs it",
    ".emacs": "Emacs runs it",
    ".emacs.d/": "Emacs runs it",
    "/.config/": "a home folder's: autostart, systemd units, shells, editors run from it",
    "/.local/": "a home folder's: its bin/ is on PATH, its applications run",
    "/.ipython/": "IPython runs its startup scripts",
    "/.jupyter/": "Jupyter runs its configs",
    "/.ssh/": "sshd trusts its authorized_keys",
    "/.vscode-server/": "VS Code's server runs its extensions",
    "/.vim/": "Vim runs its plugins",
    ".pythonrc*": "Python runs it (PYTHONSTARTUP)",
    ".pylintrc": "pylint (the editor's linter) runs its init-hook and plugins",
    "pylintrc": "pylint (the editor's linter) runs its init-hook and plugins",
    ".mcp.json": "agents start the MCP servers it lists",
    "mcp.json": "agents start the MCP servers it lists",
    ".cursor/": "Cursor runs its MCP servers and rules",
    ".claude/": "Claude Code runs its hooks and MCP servers",
    ".gemini/": "Gemini CLI runs its MCP servers",
    ".codex/": "Codex runs its MCP servers",
    ".continue/": "Continue runs its MCP servers",
    ".windsurf/": "Windsurf runs its MCP servers",
    ".agentlsignore": "it decides what agentls shows the model",
    ".agentls/": "agentls settings",
    "agentls.json": "agentls settings",
}
VCS_NAMES = {".git", ".hg", ".svn", ".bzr", "_darcs", ".jj", ".pijul", ".sl", "CVS"}
GIT_MARKERS = {"HEAD", "objects", "refs", "commondir", "packed-refs"}

_DEFAULT = pathspec.GitIgnoreSpec.from_lines(PROTECTED)
_EACH = {pattern: pathspec.GitIgnoreSpec.from_lines([pattern]) for pattern in PROTECTED}


@functools.lru_cache(maxsize=32)
def _extra(patterns: tuple[str, ...]) -> pathspec.GitIgnoreSpec:
    return pathspec.GitIgnoreSpec.from_lines(patterns)


class ProtectedMatcher:
    """Whether a workspace path is protected (the defaults plus ``extra``), fast (for
    the command sandbox's scan, which asks for every entry of the tree)."""

    def __init__(self, extra: Sequence[str] = ()) -> None:
        self._patterns = PathPatterns([*PROTECTED, *extra])

    def matches(self, relative: str, is_dir: bool = False) -> bool:
        return self._patterns.matches(relative.strip("/") + ("/" if is_dir else ""))


def home_patterns(root: Path) -> tuple[str, ...]:
    """More protected paths when the workspace is the user's home folder (VS Code users
    open ``~``): every dot-file and dot-folder at its top (start-up files, tools'
    configs, autostart entries), but ``.cache/``, which programs write."""
    homes = {os.path.realpath(os.path.expanduser("~"))}
    try:
        homes.add(os.path.realpath(pwd.getpwuid(os.getuid()).pw_dir))
    except (KeyError, OSError):
        pass
    if os.path.realpath(root) not in homes:
        return ()
    return ("/.*", "!/.cache/", "!/.cache/**")


def protected_why(relative: str, extra: Sequence[str] = ()) -> str:
    """Why writing ``relative`` (workspace-relative, "/") asks in every mode ("": it
    does not)."""
    if _DEFAULT.match_file(relative):
        for pattern, why in PROTECTED.items():
            if _EACH[pattern].match_file(relative):
                return why
    if extra and _extra(tuple(extra)).match_file(relative):
        return "listed in agent.protectedPaths"
    return ""


def version_control_internals(root: Path, relative: str, *, writing: bool = False) -> str:
    """What version-control folder ``relative`` is in ("" when none)."""
    parts = relative.split("/") if relative else []
    for i, name in enumerate(parts):
        if name in VCS_NAMES:
            return f"{'/'.join(parts[: i + 1])} (version control)"
        folder = root.joinpath(*parts[:i])
        if i and _is_git_dir(folder):
            return f"{'/'.join(parts[:i])} (a git repository's own folder)"
        if writing and name in GIT_MARKERS and _markers(folder) - {name}:
            return f"{'/'.join(parts[: i + 1])} (it would make a git repository's folder)"
    whole = root.joinpath(*parts)
    if parts and whole.is_dir() and _is_git_dir(whole):
        return f"{relative} (a git repository's own folder)"
    return ""


def _markers(folder: Path) -> set[str]:
    try:
        return {name for name in GIT_MARKERS if (folder / name).exists()}
    except OSError:
        return set()


def _is_git_dir(folder: Path) -> bool:
    """As git decides: ``HEAD``, and ``objects`` + ``refs`` (or a ``commondir`` /
    ``gitdir`` file, for a worktree's folder)."""
    try:
        head = folder / "HEAD"
        if not (head.is_file() or head.is_symlink()):  # git takes a linked HEAD
            return False
        if (folder / "commondir").is_file() or (folder / "gitdir").is_file():
            return True
        return (folder / "objects").is_dir() and (folder / "refs").is_dir()
    except OSError:
        return False
