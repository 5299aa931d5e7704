"""Variables a command line sets, for ``shell.py`` and the allow rules.

Some variables change which program a name runs or load code into every program
(``PATH``, ``LD_PRELOAD``, ``LD_AUDIT``, ``NODE_OPTIONS``, ``PERL5OPT`` …): a line
setting one is not vetted. Some hold a command line a program runs (``PAGER``,
``GIT_SSH_COMMAND`` …): that line is parsed too. And since no list of dangerous
variables is complete, an allow rule approves a line only when every variable it
puts in a program's environment is on a short list of harmless ones (``SAFE``).
"""

from __future__ import annotations

import re

DANGEROUS_VARIABLES = {
    "PATH": "it changes which program a name runs",
    "BASH_ENV": "bash runs that file first",
    "ENV": "sh runs that file first",
    "PS4": "its value runs as code under set -x",
    "PS1": "its value runs as code",
    "PROMPT_COMMAND": "its value runs as code",
    "SHELLOPTS": "it changes how bash reads the rest",
    "BASHOPTS": "it changes how bash reads the rest",
    "LD_PRELOAD": "it loads code into every program",
    "LD_LIBRARY_PATH": "it changes the code programs load",
    "BASH_FUNC": "it defines functions",
    "BASH_CMDS": "it changes which program a name runs (bash's command table)",
    "BASH_ALIASES": "it changes what a command name runs",
    "PS0": "its value runs as code",
}
# variables through which programs load code or configuration that may name code
LOADING = re.compile(
    r"LD_\w*|GCONV_PATH|LOCPATH|NODE_OPTIONS|NODE_PATH|RUBYOPT|RUBYLIB|PERL5OPT|PERL5LIB"
    r"|PERLLIB|PERL5DB|JAVA_TOOL_OPTIONS|_JAVA_OPTIONS|JDK_JAVA_OPTIONS|CLASSPATH"
    r"|PYTHON(PATH|STARTUP|HOME|WARNINGS|USERBASE|EXECUTABLE)|PYTEST_(ADDOPTS|PLUGINS)"
    r"|(?i:npm_config_\w*)|HOME|XDG_\w*|GIT_(DIR|WORK_TREE|TEMPLATE_DIR|CONFIG_\w*|NAMESPACE)"
    r"|GOFLAGS|GOTOOLCHAIN|RUSTC_WRAPPER|RUSTC|RUSTFLAGS|CARGO_\w*|MAKEFLAGS|MFLAGS"
    r"|LUA_INIT\w*|LUA_C?PATH\w*|TCLLIBPATH|R_PROFILE\w*|ZDOTDIR|INPUTRC|TERMINFO\w*"
    r"|OPENSSL_\w*|MALLOC_\w*|GLIBC_TUNABLES|DYLD_\w*|GEM_\w*|BUNDLE_\w*|PIP_\w*|UV_\w*"
)
CODE_VARIABLES = {
    "GIT_SSH_COMMAND", "GIT_SSH", "GIT_EXTERNAL_DIFF", "GIT_PAGER", "PAGER", "MANPAGER",
    "GIT_EDITOR", "EDITOR", "VISUAL", "GIT_SEQUENCE_EDITOR", "SYSTEMD_PAGER", "LESSOPEN",
    "LESSCLOSE", "GIT_ASKPASS", "SSH_ASKPASS", "SUDO_ASKPASS", "BROWSER", "GIT_PROXY_COMMAND",
    "GIT_EXEC_PATH",
}  # fmt: skip
GIT_CODE_KEYS = re.compile(
    r"alias\..*|core\.(pager|editor|sshcommand|fsmonitor|askpass)|diff\.external"
    r"|diff\..*\.(textconv|command)|filter\..*\.(clean|smudge|process)|merge\..*\.driver"
    r"|sequence\.editor|credential\.(.*\.)?helper|gpg\.(.*\.)?program|pager\..*"
    r"|(diff|merge)tool\..*\.cmd|uploadpack\.packobjectshook|remote\..*\.(uploadpack|receivepack)"
    r"|core\.gitproxy|ssh\.variant|web\.browser|browser\..*\.cmd|man\..*\.cmd"
)
GIT_FILE_KEYS = re.compile(r"core\.hookspath|include\.path|includeif\..*|core\.worktree")

# What an allow rule lets a line set in a program's environment: locale, time zone,
# colours and sizes of the output, flags of a CI run. Nothing here names a file or code.
SAFE = {
    "LANG", "LANGUAGE", "TZ", "NO_COLOR", "FORCE_COLOR", "CLICOLOR", "CLICOLOR_FORCE",
    "COLUMNS", "LINES", "CI", "DEBIAN_FRONTEND", "PYTHONUNBUFFERED",
    "PYTHONDONTWRITEBYTECODE", "PYTHONIOENCODING", "PYTHONHASHSEED", "PYTHONUTF8",
    "NODE_ENV", "RUST_BACKTRACE", "RUST_LOG", "COLORTERM", "GIT_PAGER_IN_USE",
}  # fmt: skip
SAFE_PATTERN = re.compile(r"LC_[A-Z]+")


def danger(name: str, value: str | None = "") -> str:
    """Why a line that sets ``name`` (to ``value``; None: known only when it runs) is
    not vetted ("": it may be)."""
    if (name in ("LANG", "LANGUAGE") or SAFE_PATTERN.fullmatch(name)) and (
        value is None or "/" in value
    ):
        return "a locale given as a path, or not known before it runs, is read from files"
    for variable, why in DANGEROUS_VARIABLES.items():
        if name == variable or (variable == "BASH_FUNC" and name.startswith(variable)):
            return why
    if LOADING.fullmatch(name):
        return "programs load code or configuration it names"
    return ""


def safe(name: str) -> bool:
    """Whether an allow rule may approve a line that sets ``name`` for its programs."""
    return name in SAFE or SAFE_PATTERN.fullmatch(name) is not None
