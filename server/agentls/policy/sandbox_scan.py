"""What the command sandbox must shield in a folder tree: repositories, secret files
and folders, unix sockets and fifos.

Every folder is entered, dependency folders too: what a scan leaves out must never
depend on files a command can write (a ``pyvenv.cfg`` does not make a folder
"dependencies", and a secret moved into ``node_modules`` is still one). The one
allowance: a public certificate (``BEGIN CERTIFICATE``, no private key) named like a
secret (``cacert.pem``) stays readable inside dependency folders and toolchains, so
that packages that ship a CA bundle keep working.

In a toolchain or system folder (``private=True``), a file or folder that only its
owner may read is masked too (``/etc/shadow``, ``~/.cargo/credentials.toml``): the
sandbox runs as the same user, and as root nothing else would stop it. Such trees
are scanned to a depth (``max_depth``): their credential stores sit near the top
(``~/.local/share/uv/credentials/credentials.toml``), and a full scan of a Python
or Rust installation (100,000+ files) would take a minute.

A folder whose change time (ctime: a command can set the mtime back, never the
ctime) has not changed since the last scan (and not just before it) is not read
again: a scan before each command costs one ``stat`` per folder. A folder that
cannot be listed is masked whole (an empty folder).

In the workspace (``content``, a ``SecretContentFiles``), files are also checked for
secret **content** (a token, a password assignment, a private key: detect-secrets,
as for the tools), each read again only when its inode, size, modification or change time
changed: a scan costs one ``stat`` per file. Checked: every text file (no NUL byte
in its first 8 kB) up to ``CONTENT_SCAN_BYTES`` outside the package folders of
``CONTENT_SKIP_NAMES`` (``node_modules``, virtualenvs, ``vendor``: a first scan of
100,000 package files would take minutes, and their code is full of harmless
``password=`` lines). Such a file is shown redacted (``sandbox.py``); Python's
compiled files of it (``__pycache__/NAME.*.pyc``) are masked.
**Environments** (``envs``): every folder holding a ``pyvenv.cfg`` file or a
``conda-meta`` folder, and every ``node_modules`` folder, at any depth; the marker is
seen when the folder itself is read, so one a command makes is found by the next scan.
**Hard links**: a file that shares its inode with a secret file (by name or by
content) is masked too, whatever its name (``ln .env notes.txt`` made before).
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from agentls.context.files import SKIP_DIRS
from agentls.policy.protected import ProtectedMatcher
from agentls.policy.sandbox_git import gitdir_of, is_repository
from agentls.policy.secrets import SecretContentFiles, SecretMatcher

MAX_SCAN_FOLDERS = 200_000  # a tree with more folders is not scanned (the command fails)
DEPENDENCY_NAMES = SKIP_DIRS | {"site-packages", "dist-packages", "venv", "vendor"}
_CERTIFICATE_SUFFIXES = (".pem", ".crt", ".cer")
# What makes a folder a virtual environment (Python's venv and virtualenv, conda).
ENV_MARKERS = frozenset({"pyvenv.cfg", "conda-meta"})
CONTENT_SCAN_BYTES = 1 << 20  # a bigger file, or a binary one, is not checked for content
# Package folders whose files are not checked for secret content (names still are).
CONTENT_SKIP_NAMES = frozenset(
    {"node_modules", ".venv", "venv", "site-packages", "dist-packages", "vendor", ".tox", ".nox"}
)


class ScanError(Exception):
    """A tree too big to scan before a command; ``str(error)`` says why."""


@dataclass(frozen=True)
class Protected:
    """What to shield in a tree (absolute paths)."""

    git: list[Path]  # repository folders: .git folders, bare ones, gitdir targets inside
    secret_files: list[Path]  # secret files, sockets and fifos: covered by an empty file
    secret_dirs: list[Path]  # covered by an empty folder
    git_files: list[Path] = field(default_factory=list)  # .git files (and symlinks)
    identities: frozenset[tuple[int, int]] = frozenset()  # (device, inode) of the above
    # Files holding secret content: shown redacted (or empty) in the sandbox.
    secret_content: list[Path] = field(default_factory=list)
    # Protected paths (``policy/protected.py``: editor settings, .envrc, ...), symlinks
    # included; and what those symlinks point to inside the tree.
    protected: list[Path] = field(default_factory=list)
    protected_targets: list[Path] = field(default_factory=list)
    # Virtual environments (a ``pyvenv.cfg`` or ``conda-meta/`` in them) and
    # ``node_modules`` folders: code the user's tools run later, on the host.
    envs: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class _Folder:
    mtime_ns: int  # the folder's change time (ctime) when it was read
    subfolders: tuple[str, ...]  # relative paths of the folders to enter
    git: tuple[str, ...]
    git_files: tuple[str, ...]
    secret_files: tuple[str, ...]
    secret_dirs: tuple[str, ...]
    checked: tuple[str, ...] = ()  # regular files to check for content and hard links
    protected: tuple[str, ...] = ()  # protected paths (symlinks included)
    envs: tuple[str, ...] = ()  # this folder (a virtual env) or node_modules in it
    # Regular files in package folders (not checked for content), with their inodes.
    unchecked: tuple[tuple[str, int], ...] = ()


class TreeScan:
    """Scans ``root`` again and again, reading only the folders that changed."""

    def __init__(
        self,
        root: Path,
        secrets: SecretMatcher,
        *,
        private: bool = False,
        max_depth: int | None = None,
        content: SecretContentFiles | None = None,
        protected: ProtectedMatcher | None = None,
        content_names: Callable[[str], bool] | None = None,
        skip: Callable[[str], bool] | None = None,
    ) -> None:
        """``content_names``: which file names ``content`` checks (None: every file
        outside the package folders of ``CONTENT_SKIP_NAMES``; given: those at any
        place, as for the small configs of toolchains and ``/etc``). ``skip``: folders
        whose name it says yes to are not entered (the package trees of toolchains)."""
        self.root = str(root)
        self.content_names = content_names
        self.skip = skip
        self.secrets = secrets
        self.private = private
        self.content = content  # checks files for secret content (None: names only)
        self.protected = protected  # finds protected paths (None: none looked for)
        self.max_depth = max_depth  # folders deeper than this are not entered
        self._folders: dict[str, _Folder] = {}

    def scan(self) -> Protected:
        """Raises ``ScanError`` for a tree too big to scan."""
        racy = time.time_ns() - 2_000_000_000  # a folder changed after this: read it again
        folders: dict[str, _Folder] = {}
        git: list[str] = []
        git_files: list[str] = []
        files: list[str] = []
        dirs: list[str] = []
        checked: list[str] = []
        guarded: list[str] = []
        envs: list[str] = []
        unchecked: list[tuple[str, int]] = []
        stack = [""]
        visited = 0
        while stack:
            relative = stack.pop()
            visited += 1
            try:
                # The change time, not the modification time: a command can set a
                # folder's mtime back (touch -d) to hide what it made there; nobody
                # but the kernel sets the ctime, and any change of the folder sets it.
                ctime = os.stat(os.path.join(self.root, relative)).st_ctime_ns
            except OSError:
                continue
            folder = self._folders.get(relative)
            if folder is None or folder.mtime_ns != ctime:
                folder = self._read(relative, ctime)
            if folder is None and not relative and not self.private:
                folder = self._read_root_again()  # the workspace made unreadable
            if folder is None:  # unreadable: shown as an empty folder
                if relative:
                    dirs.append(relative)
                continue
            if folder.mtime_ns < racy:
                folders[relative] = folder
            if visited > MAX_SCAN_FOLDERS:
                raise ScanError(
                    f"{self.root} has more than {MAX_SCAN_FOLDERS} folders; too many to check "
                    "for secrets before a command"
                )
            git += folder.git
            git_files += folder.git_files
            files += folder.secret_files
            dirs += folder.secret_dirs
            checked += folder.checked
            guarded += folder.protected
            envs += folder.envs
            unchecked += folder.unchecked
            if self.max_depth is None or relative.count("/") + 1 < self.max_depth:
                stack += folder.subfolders
        self._folders = folders
        git += self._targets(git_files)
        content = self._content(checked, files, unchecked)
        targets = self._inside_targets(p for p in guarded if os.path.islink(self._full(p)))
        return Protected(
            git=self._absolute(set(git)),
            secret_files=self._absolute(set(files) - set(content)),
            secret_content=self._absolute(set(content)),
            secret_dirs=self._absolute(set(dirs)),
            git_files=self._absolute(set(git_files)),
            identities=frozenset(
                identity(p) for p in self._absolute(set(git + git_files + guarded))
            ),
            protected=self._absolute(set(guarded)),
            protected_targets=self._absolute(set(targets)),
            envs=self._absolute(set(envs)),
        )

    def _content(
        self, checked: list[str], files: list[str], unchecked: list[tuple[str, int]]
    ) -> list[str]:
        """Of ``checked``: the files holding secret content (those over
        ``CONTENT_SCAN_BYTES``: only git history, or an inode that held a secret);
        of ``unchecked``: the inodes that held one; then the hard links of any secret
        file (appended to ``files``, masked empty)."""
        if self.content is None:
            return []
        stats: dict[str, os.stat_result] = {}
        linked: dict[tuple[int, int], list[str]] = {}
        for relative in checked:
            try:
                info = os.stat(os.path.join(self.root, relative), follow_symlinks=False)
            except OSError:
                continue
            stats[relative] = info
            if info.st_nlink > 1:
                linked.setdefault((info.st_dev, info.st_ino), []).append(relative)
        found = self.content.holding_secrets(stats, stats)
        found += self.content.remembered(unchecked)
        files += self._compiled(found)
        if linked:
            for relative in [*files, *found]:
                same = linked.get(identity(Path(self.root, relative)), [])
                files += [p for p in same if p != relative and p not in found]
        return found

    def _compiled(self, sources: list[str]) -> list[str]:
        """Python's compiled files of ``sources`` (``__pycache__/NAME.*.pyc``): binary,
        so not checked, but they hold the source's strings."""
        out: list[str] = []
        for relative in sources:
            folder, name = os.path.split(relative)
            if not name.endswith(".py"):
                continue
            cache = os.path.join(self.root, folder, "__pycache__")
            try:
                names = os.listdir(cache)
            except OSError:
                continue
            stem = name[:-3] + "."
            out += [
                os.path.join(folder, "__pycache__", n)
                for n in names
                if n.startswith(stem) and n.endswith(".pyc")
            ]
        return out

    def _full(self, relative: str) -> str:
        return os.path.join(self.root, relative)

    def _inside_targets(self, links: Iterable[str]) -> list[str]:
        """Where ``links`` (relative) point, when that is inside the tree."""
        out: list[str] = []
        for relative in links:
            real = os.path.realpath(self._full(relative))
            if real.startswith(self.root + os.sep) and os.path.exists(real):
                out.append(os.path.relpath(real, self.root))
        return out

    def _absolute(self, paths: set[str]) -> list[Path]:
        return sorted(Path(self.root, p) for p in paths)

    def _targets(self, git_files: list[str]) -> list[str]:
        """The folders that ``.git`` files point to, when they are inside the tree."""
        out: list[str] = []
        for relative in git_files:
            target = gitdir_of(os.path.join(self.root, relative))
            if target is None:
                continue
            real = os.path.realpath(target)
            if real != self.root and real.startswith(self.root + os.sep) and os.path.isdir(real):
                out.append(os.path.relpath(real, self.root))
        return out

    def _read_root_again(self) -> _Folder | None:
        """The workspace's own folder, made listable again (``chmod 311 .`` by a command
        would hide from the scan everything it made there)."""
        try:
            os.chmod(self.root, os.stat(self.root).st_mode | 0o700)
            return self._read("", os.stat(self.root).st_ctime_ns)
        except OSError:
            return None

    def _read(self, relative: str, mtime: int) -> _Folder | None:
        """None for a folder that cannot be listed (``chmod 000`` by a command, to hide
        what is in it from this scan and open it in the next command): it is masked
        whole."""
        subfolders: list[str] = []
        git: list[str] = []
        git_files: list[str] = []
        files: list[str] = []
        dirs: list[str] = []
        checked: list[str] = []
        try:
            entries = list(os.scandir(os.path.join(self.root, relative)))
        except FileNotFoundError:
            entries = []
        except OSError:
            return None
        in_dependencies = self.private or any(
            part in DEPENDENCY_NAMES for part in relative.split("/")
        )
        check = self.content is not None and (
            self.content_names is not None
            or not any(part in CONTENT_SKIP_NAMES for part in relative.split("/"))
        )
        guard = self.protected if not in_dependencies else None
        guarded: list[str] = []
        envs: list[str] = []
        unchecked: list[tuple[str, int]] = []
        for entry in entries:
            path = f"{relative}/{entry.name}" if relative else entry.name
            try:
                if guard is not None and entry.name != ".git" and _guarded(guard, path, entry):
                    guarded.append(path)
                if entry.name == ".git" and not entry.is_dir(follow_symlinks=False):
                    git_files.append(path)  # a gitdir file, or a symlink to a repository
                elif entry.is_symlink():
                    continue  # judged where it points
                elif entry.is_dir():
                    if entry.name in ENV_MARKERS and relative:
                        envs.append(relative)  # conda-meta/: this folder is an env
                    if entry.name == "node_modules":
                        envs.append(path)
                    if entry.name == ".git" or is_repository(entry.path):
                        git.append(path)
                    elif self.secrets.is_secret(path, is_dir=True) or self._owner_only(entry):
                        dirs.append(path)
                    elif self.skip is None or not self.skip(entry.name):
                        subfolders.append(path)
                elif entry.is_file():
                    if entry.name in ENV_MARKERS and relative:
                        envs.append(relative)  # pyvenv.cfg: this folder is a virtual env
                    if self._secret_file(path, entry, in_dependencies):
                        files.append(path)
                    elif check and (self.content_names is None or self.content_names(entry.name)):
                        checked.append(path)
                    elif self.content is not None and self.content_names is None:
                        unchecked.append((path, entry.inode()))
                elif _special(entry):
                    files.append(path)  # a socket or fifo: a way out of the sandbox
            except OSError:
                continue
        return _Folder(
            mtime,
            tuple(subfolders),
            tuple(git),
            tuple(git_files),
            tuple(files),
            tuple(dirs),
            tuple(checked),
            tuple(guarded),
            tuple(envs),
            tuple(unchecked),
        )

    def _secret_file(self, path: str, entry: os.DirEntry[str], in_dependencies: bool) -> bool:
        if self._owner_only(entry):
            return True
        if not self.secrets.is_secret(path):
            return False
        return not (in_dependencies and _public_certificate(entry))

    def _owner_only(self, entry: os.DirEntry[str]) -> bool:
        if not self.private:
            return False
        mode = entry.stat(follow_symlinks=False).st_mode
        return not mode & stat.S_IROTH


def _guarded(guard: ProtectedMatcher, path: str, entry: os.DirEntry[str]) -> bool:
    """Whether ``entry`` is a protected path (a symlink: under either reading)."""
    if entry.is_symlink():
        return guard.matches(path) or guard.matches(path, is_dir=True)
    if entry.is_dir() and is_repository(entry.path):
        return False  # a repository: sandbox_git's part
    return guard.matches(path, is_dir=entry.is_dir())


def _special(entry: os.DirEntry[str]) -> bool:
    mode = entry.stat(follow_symlinks=False).st_mode
    return stat.S_ISSOCK(mode) or stat.S_ISFIFO(mode)


def _public_certificate(entry: os.DirEntry[str]) -> bool:
    """A certificate file that holds no private key (a CA bundle)."""
    if not entry.name.lower().endswith(_CERTIFICATE_SUFFIXES):
        return False
    try:
        with open(entry.path, "rb") as file:
            text = file.read(4 << 20)
    except OSError:
        return False
    return b"-----BEGIN CERTIFICATE-----" in text and b"PRIVATE KEY" not in text


def identity(path: Path) -> tuple[int, int]:
    """A path's (device, inode), not following a link; (0, 0) when it is gone."""
    try:
        info = os.stat(path, follow_symlinks=False)
    except OSError:
        return (0, 0)
    return (info.st_dev, info.st_ino)
