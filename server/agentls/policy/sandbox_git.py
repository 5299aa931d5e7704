"""Repositories as the command sandbox sees them.

Every layout counts, not only folders named ``.git``: a ``.git`` file (a linked
worktree, a submodule, the ``.bare/`` layout) and the folder it points to, and any
folder built like a repository (``HEAD``, ``objects/``, ``refs/``: a bare one).
What this module decides only ever protects more: a ``.git`` file's ``gitdir:``
or a config's ``include.path`` (text a command may have written) can make more
paths read-only or masked, never fewer.

After a command, ``disable_new_repositories`` turns off the repositories it
created (their hooks and ``core.fsmonitor`` would run when the user next runs git
on the host): the ``HEAD`` of a new repository folder is renamed, so that git no
longer takes it for one, and a new ``.git`` file is renamed.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from pathlib import Path

from agentls.policy.secret_content import has_secret_content

log = logging.getLogger(__name__)

DISABLED = ".agentls-disabled"  # suffix of what disable_new_repositories renames
_CONFIG_NAMES = ("config", "config.worktree")
_CREDENTIAL = re.compile(
    rb"://[^/\s@]+@|^\s*(?:password|token|extraheader|sslkey|sslcertpasswordprotected)\s*=",
    re.IGNORECASE | re.MULTILINE,
)
_CREDENTIAL_WORDS = ("pass", "token", "secret", "auth", "cookie", "key", "credential")
_SECTION = re.compile(r'^\s*\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]\s*(.*)$')
_KEY = re.compile(r"^\s*([A-Za-z][A-Za-z0-9-]*)\s*(?:=\s*(.*))?$")


def is_repository(folder: str) -> bool:
    """Whether git would take ``folder`` for a repository's own folder (bare or not);
    a ``HEAD`` that is a symbolic link counts (git takes one, even dangling)."""
    head = os.path.join(folder, "HEAD")
    return (
        (os.path.isfile(head) or os.path.islink(head))
        and os.path.isdir(os.path.join(folder, "objects"))
        and os.path.isdir(os.path.join(folder, "refs"))
    )


def gitdir_of(git_file: str) -> str | None:
    """The folder a ``.git`` file points to (``gitdir: PATH``), absolute. Only a
    regular file is read (a fifo named ``.git`` would block the read)."""
    try:
        fd = os.open(git_file, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        first = os.read(fd, 4096).decode(errors="replace").splitlines()
    except OSError:
        return None
    finally:
        os.close(fd)
    if not first or not first[0].startswith("gitdir:"):
        return None
    target = first[0][len("gitdir:") :].strip()
    return os.path.normpath(os.path.join(os.path.dirname(git_file), target)) if target else None


def config_files(git_dir: str) -> list[str]:
    """The config files of a repository folder and of those inside it (``modules/*``,
    ``worktrees/*``, nested submodules), without entering the object store."""
    found: list[str] = []
    for folder, dirs, files in os.walk(git_dir):
        dirs[:] = [d for d in dirs if d not in ("objects", "refs", "logs", "hooks", "lfs")]
        found += [os.path.join(folder, n) for n in files if n in _CONFIG_NAMES]
    return sorted(found)


def read_config(path: str) -> list[tuple[str, str, str]]:
    """(section, key, value) of a git config file, lower-case section and key; the
    subsection stays in the section as ``name.subsection``. Enough of git's syntax
    for ``include.path``, ``includeIf.*.path`` and ``core.hooksPath``."""
    try:
        with open(path, "rb") as file:
            text = file.read(1 << 20).decode(errors="replace")
    except OSError:
        return []
    entries: list[tuple[str, str, str]] = []
    section = ""
    for line in text.splitlines():
        match = _SECTION.match(line)
        if match:
            name, sub, rest = match.groups()
            section = name.lower() + (f".{sub}" if sub is not None else "")
            line = rest
        key = _KEY.match(line)
        if key and section:
            entries.append((section, key.group(1).lower(), _value(key.group(2) or "")))
    return entries


def _value(raw: str) -> str:
    out, quoted = [], False
    i = 0
    while i < len(raw):
        char = raw[i]
        if char == '"':
            quoted = not quoted
        elif char == "\\" and i + 1 < len(raw):
            i += 1
            out.append({"n": "\n", "t": "\t"}.get(raw[i], raw[i]))
        elif char in ";#" and not quoted:
            break
        else:
            out.append(char)
        i += 1
    return "".join(out).strip()


def has_credentials(path: str) -> bool:
    """Whether a config holds a password or token: a URL with ``user:token@``, a key
    whose name (or section's) has a word of ``_CREDENTIAL_WORDS`` in it
    (``sendemail.smtpPass``, ``hub.oauthtoken``, ``http.cookieFile``,
    ``credential.helper``), or a value the secret detectors flag: masked then (git
    works without it, minus remotes)."""
    try:
        with open(path, "rb") as config:
            data = config.read(1 << 20)
    except OSError:
        return False
    if _CREDENTIAL.search(data) is not None:
        return True
    for section, key, _ in read_config(path):
        if any(word in f"{section.split('.')[0]}.{key}" for word in _CREDENTIAL_WORDS):
            return True
    return has_secret_content(data.decode("utf-8", "replace"))


def included_files(config: str) -> list[str]:
    """The files a config pulls in (``include.path``, ``includeIf.*.path``), absolute;
    relative ones are relative to the config's folder, as git reads them."""
    out: list[str] = []
    for section, key, value in read_config(config):
        if key == "path" and (section == "include" or section.startswith("includeif.")):
            if value:
                path = os.path.expanduser(value)
                out.append(os.path.normpath(os.path.join(os.path.dirname(config), path)))
    return out


def hooks_paths(config: str, worktree: str) -> list[str]:
    """``core.hooksPath`` folders of a config, absolute (relative to ``worktree``)."""
    out: list[str] = []
    for section, key, value in read_config(config):
        if section == "core" and key == "hookspath" and value:
            path = os.path.expanduser(value)
            out.append(os.path.normpath(os.path.join(worktree, path)))
    return out


def disable_new_repositories(repositories: list[Path], git_files: list[Path]) -> list[str]:
    """Turn off repositories a command created (the caller decides which are new):
    a repository folder's ``HEAD`` and a ``.git`` file get the ``DISABLED`` suffix.
    Returns a note per path for the model and the user."""
    notes: list[str] = []
    for folder in repositories:
        head = folder / "HEAD"
        if _rename(head):
            notes.append(
                f"{folder}: a repository this command created was turned off (HEAD renamed to "
                f"HEAD{DISABLED}): its hooks and config could run code when git runs on the host"
            )
    for file in git_files:
        if _rename(file):
            notes.append(f"{file}: a .git file this command created was renamed to .git{DISABLED}")
    return notes


def _rename(path: Path) -> bool:
    """Rename a regular file or a symbolic link (a ``HEAD`` may be one)."""
    if not (path.is_symlink() or path.is_file()):
        return False
    target = path.with_name(path.name + DISABLED)
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}{DISABLED}-{n}")
    try:
        path.rename(target)
    except PermissionError:
        try:  # a folder the command made read-only (``chmod a-w .git``): ours to undo
            os.chmod(path.parent, os.stat(path.parent).st_mode | 0o700)
            path.rename(target)
        except OSError as error:
            log.warning("could not turn off %s: %s", path, error)
            return False
    except OSError as error:
        log.warning("could not turn off %s: %s", path, error)
        return False
    return True
