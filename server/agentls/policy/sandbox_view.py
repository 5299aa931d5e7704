"""The file system a sandboxed command sees, as bubblewrap arguments: default deny.

Visible, in this order (a later mount covers an earlier one):

1. The system's folders, read-only: ``/usr``, ``/bin``, ``/sbin``, ``/lib*``,
   ``/etc``, ``/sys``, ``/nix/store``; ``/etc`` with what only its owner may read
   masked (``/etc/shadow``, ssh host keys) and its secret files masked. A fresh
   ``/dev``, ``/proc``; ``/tmp``, ``/var/tmp``, ``/run`` and the home folder are
   new, size-capped tmpfs folders (``sandbox.tmpMb``).
2. Toolchains the machine declares: the ``HOME_TOOLCHAINS`` folders of the home
   folder (and of the user's home in ``/etc/passwd``), and the ``bin`` folders on
   the server's ``PATH`` (never ``/``, a home folder or a folder above the
   workspace), read-only, their secrets masked at any depth.
3. If the workspace's parent folder is visible by then, it is replaced by an empty
   one: the folder above the workspace and sibling projects are never visible.
4. The user's ``sandbox.readOnlyPaths``, read-only, secrets masked (as deep).
5. The workspace, writable; its protected paths (editor settings, ``.envrc``,
   ``.git*`` files, ..., see ``sandbox_protect.py``) read-only; virtual
   environments and ``node_modules`` read-only (``sandbox.writableEnvs`` off); the editor's unsaved
   buffers and redacted copies of files holding secret content over their files
   (read-only); every repository folder and ``.git`` file read-only
   (``sandbox.git: "read-only"``: credentials in configs and included files
   masked) or hidden (``"hidden"``, the default); ``core.hooksPath`` folders
   read-only; secret files, sockets and fifos covered by an empty file, secret
   folders by an empty folder.

Nothing here is decided from what the workspace holds except to protect more (a
``pyvenv.cfg`` no longer widens anything). Everything else of the host (the rest
of the home folder, ``/home``, ``/root``, ``/var``, ``/srv``, ``/mnt``, ``/opt``,
other projects, the host's ``/tmp`` and ``/run`` with their sockets) does not exist
in the sandbox.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import pwd
import re
import shutil
import subprocess
from pathlib import Path

from agentls.cache_dir import default_cache_dir
from agentls.config import SandboxSettings
from agentls.policy import sandbox_git
from agentls.policy.sandbox_scan import Protected, TreeScan
from agentls.policy.secrets import SecretContentFiles, SecretMatcher, decode_text, redact

log = logging.getLogger(__name__)

SYSTEM_DIRS: tuple[str, ...] = (
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/sys", "/nix/store",
)  # fmt: skip
SCANNED_SYSTEM_DIRS = ("/etc",)  # the others hold no user secrets and are too big to scan
# Folders of a home folder that hold toolchains, readable in the sandbox.
HOME_TOOLCHAINS = (
    ".pyenv",
    ".local/bin",
    ".local/lib",
    ".local/share/uv",
    ".local/pipx",
    ".cargo",
    ".rustup",
    ".nvm",
    ".volta",
    ".bun",
    ".deno",
    ".asdf",
    ".sdkman",
    "go/bin",  # not go/ whole: GOPATH's src/ holds the user's other projects
    "go/pkg/mod",
    ".elan",
    ".ghcup",
)
PRLIMIT = "/usr/bin/prlimit"
BWRAP = "/usr/bin/bwrap"  # where Debian's bubblewrap puts it (when not on PATH)
# Package trees inside toolchains: not entered by the scan (100,000s of files of
# downloaded packages, where no tool keeps the user's credentials).
TOOLCHAIN_PACKAGE_TREES = frozenset(
    {"site-packages", "dist-packages", "node_modules", "rustlib", "__pycache__", "test",
     "tests", "doc", "docs", "man", "include", "locale", "registry", "git"}
)  # fmt: skip
_PYTHON_LIB = re.compile(r"python[0-9][0-9.]*t?")
OUTSIDE_CONTENT_BYTES = 64 << 10  # configs outside the workspace checked for content
_CONFIG_SUFFIXES = (
    ".toml", ".conf", ".cfg", ".ini", ".cnf", ".yaml", ".yml", ".properties", ".xml",
    ".env", ".rc", ".config", ".json", ".sh", ".txt",
)  # fmt: skip
RUN_TMPFS_MB = 16  # /run holds nothing but what a command puts there

_SCANS: dict[tuple[str, tuple[str, ...]], TreeScan] = {}  # trees outside the workspace


# Files of /etc that hold credentials machine-wide (others are checked by name and mode
# only: a redacted copy of a system file, such as ``nsswitch.conf``'s ``passwd:``
# line, would break the programs that read it).
ETC_CREDENTIAL_NAMES = frozenset(
    {"environment", "pip.conf", "npmrc", "yarnrc", "gitconfig", "boto.cfg", "wgetrc",
     "curlrc", "netrc", "s3cfg", "pypirc", "settings.xml", "bash.bashrc", "profile",
     "zshenv", "zshrc", "environment.conf"}
)  # fmt: skip


def etc_credentials(name: str) -> bool:
    """A file of ``/etc`` checked for secret content (``profile.d/*.sh`` too)."""
    lower = name.lower()
    return lower in ETC_CREDENTIAL_NAMES or lower.endswith((".sh", ".env"))


def package_tree(name: str) -> bool:
    """A folder of a toolchain the scan does not enter: package trees and Python's
    standard library (``lib/python3.12``, its ``site-packages`` with it)."""
    return name in TOOLCHAIN_PACKAGE_TREES or _PYTHON_LIB.fullmatch(name) is not None


def config_like(name: str) -> bool:
    """A file name a configuration may have (``config.toml``, ``pip.conf``, ``npmrc``,
    ``environment``: no suffix): checked for secret content outside the workspace."""
    lower = name.lower()
    if lower.endswith(".json"):
        return lower in ("config.json", "settings.json", "credentials.json")
    bare = "." not in lower[1:]  # npmrc, .npmrc, environment, credentials
    return lower.endswith(_CONFIG_SUFFIXES) or bare


def outside_scan(folder: str, secrets: SecretMatcher) -> Protected:
    """Secrets of a folder outside the workspace (a toolchain, ``/etc``,
    ``sandbox.readOnlyPaths``), at any depth but its package trees
    (``TOOLCHAIN_PACKAGE_TREES``): names, owner-only files, and the content of its
    small configs (``config_like``, up to ``OUTSIDE_CONTENT_BYTES``; in ``/etc``:
    ``etc_credentials``). Remembered between commands and runners: only changed folders and
    files are read again."""
    key = (folder, secrets.patterns)
    scan = _SCANS.get(key)
    if scan is None:
        every = folder in SCANNED_SYSTEM_DIRS
        scan = TreeScan(
            Path(folder),
            secrets,
            private=True,
            content=SecretContentFiles(Path(folder), max_bytes=OUTSIDE_CONTENT_BYTES),
            content_names=etc_credentials if every else config_like,
            skip=None if every else package_tree,
        )
        _SCANS[key] = scan
    return scan.scan()


def find_bwrap() -> str | None:
    found = shutil.which("bwrap")
    return found or (BWRAP if os.access(BWRAP, os.X_OK) else None)


def bwrap_path() -> str:
    """bubblewrap's program (Debian's place when it is on no PATH)."""
    return find_bwrap() or BWRAP


@functools.cache
def _bwrap_help(bwrap: str) -> str:
    try:
        said = subprocess.run(
            [bwrap, "--help"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return said.stdout + said.stderr


def bwrap_knows(bwrap: str, option: str) -> bool:
    """Whether this bubblewrap knows ``option`` (its ``--help`` names it)."""
    return f"{option} " in _bwrap_help(bwrap)


def bwrap_sizes_tmpfs(bwrap: str) -> bool:
    """Whether this bubblewrap knows ``--size`` (0.5.0 and later)."""
    return bwrap_knows(bwrap, "--size")


def no_nested_user_namespaces(bwrap: str, workspace: str | None = None) -> list[str]:
    """bubblewrap's arguments that stop a command from making a user namespace of its
    own (``unshare -U``: every capability back inside it, and the kernel's attack
    surface that comes with them): a user namespace of the sandbox's own in which
    ``user.max_user_namespaces`` is 0 (0.8.0 and later; none on older ones, logged).
    Not for a server running as root on a ``workspace`` another user owns (a
    container's bind mount): in that namespace root may no longer pass the owner's
    permissions (only uid 0 is mapped), and the workspace could not be opened."""
    if not _userns_can_be_disabled(bwrap):
        return []
    if workspace is not None and os.geteuid() == 0 and _owner(workspace) != 0:
        log.warning("root on a workspace another user owns: commands can make user namespaces")
        return []
    return ["--unshare-user", "--disable-userns", "--assert-userns-disabled"]


@functools.cache
def _userns_can_be_disabled(bwrap: str) -> bool:
    """Whether this bubblewrap knows ``--disable-userns`` and it works here (a setuid
    bubblewrap or a kernel may refuse it: then commands run without it, logged,
    rather than not at all)."""
    flags = ["--unshare-user", "--disable-userns", "--assert-userns-disabled"]
    if bwrap_knows(bwrap, "--disable-userns"):
        try:
            done = subprocess.run(
                [bwrap, "--ro-bind", "/", "/", *flags, "--", "true"],
                capture_output=True,
                timeout=15,
                check=False,
            )
            if done.returncode == 0:
                return True
        except (OSError, subprocess.TimeoutExpired):
            pass
    log.warning("bubblewrap cannot disable user namespaces here: commands can make them")
    return False


def _owner(path: str) -> int | None:
    try:
        return os.stat(path).st_uid
    except OSError:
        return None


def home_folder() -> str:
    home = os.path.realpath(Path.home())
    return home if home not in ("/", "") else "/tmp"


def _user_home() -> str | None:
    try:
        return os.path.realpath(pwd.getpwuid(os.getuid()).pw_dir)
    except (KeyError, OSError):
        return None


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


class View:
    """The mounts of one workspace's sandbox under ``settings``."""

    def __init__(self, root: Path, secrets: SecretMatcher, settings: SandboxSettings) -> None:
        self.root = str(root)
        self.secrets = secrets
        self.settings = settings
        self.home = home_folder()
        self.homes = sorted({self.home, *([h] if (h := _user_home()) else [])})

    # -- what is visible --------------------------------------------------------------
    def toolchains(self) -> list[str]:
        """Folders the machine declares: home toolchains and ``bin`` folders on PATH."""
        found: list[str] = []
        for home in self.homes:
            for name in HOME_TOOLCHAINS:
                tool = os.path.join(home, name)
                if os.path.isdir(tool) and not os.path.islink(tool):
                    found.append(tool)
        for entry in (os.environ.get("PATH") or "").split(os.pathsep):
            real = os.path.realpath(entry) if os.path.isabs(entry) else ""
            if os.path.basename(real) not in ("bin", "sbin") or not os.path.isdir(real):
                continue
            if any(_inside(real, s) for s in SYSTEM_DIRS) or any(_inside(real, t) for t in found):
                continue
            if self._too_wide(real) or _inside(real, self.root):
                continue
            found.append(real)
        return found

    def read_only_paths(self) -> list[str]:
        """``sandbox.readOnlyPaths``: absolute or ``~/``, existing folders, never ``/``."""
        out: list[str] = []
        for raw in self.settings.read_only_paths:
            path = os.path.expanduser(raw)
            if not os.path.isabs(path):
                log.warning("sandbox.readOnlyPaths: %r is not absolute (ignored)", raw)
                continue
            real = os.path.realpath(path)
            if real == "/" or not os.path.exists(real):
                log.warning("sandbox.readOnlyPaths: %r is / or does not exist (ignored)", raw)
                continue
            out.append(real)
        return out

    def _too_wide(self, folder: str) -> bool:
        """A folder that holds a home folder or the workspace's parent."""
        parent = os.path.dirname(self.root)
        return any(_inside(h, folder) for h in [*self.homes, parent]) or folder == "/"

    # -- the arguments ----------------------------------------------------------------
    def system(self, empty: str) -> list[str]:
        args: list[str] = []
        for folder in SYSTEM_DIRS:
            if os.path.islink(folder):
                args += ["--symlink", os.readlink(folder), folder]
            elif os.path.isdir(folder):
                args += ["--ro-bind", folder, folder]
                if folder in SCANNED_SYSTEM_DIRS:
                    args += _masks(outside_scan(folder, self.secrets), empty, outside=True)
        args += ["--dev", "/dev", "--proc", "/proc"]
        for folder in ("/tmp", "/var/tmp", self.home):
            args += [*self._size(self.settings.tmp_mb), "--tmpfs", folder]
        args += [*self._size(RUN_TMPFS_MB), "--tmpfs", "/run"]
        return args

    def _size(self, megabytes: int) -> list[str]:
        if not bwrap_sizes_tmpfs(bwrap_path()):
            return []
        return ["--size", str(megabytes << 20)]

    def outside(self, empty: str) -> list[str]:
        """Toolchains, the hidden parent, ``sandbox.readOnlyPaths`` (steps 2 to 4)."""
        args: list[str] = []
        mounted = list(SYSTEM_DIRS)
        for tool in self.toolchains():
            found = outside_scan(tool, self.secrets)
            args += ["--ro-bind", tool, tool, *_masks(found, empty, outside=True)]
            mounted.append(tool)
        parent = os.path.dirname(self.root)
        if any(_inside(parent, m) for m in mounted):
            args += ["--tmpfs", parent]  # the folder above and its other projects
        for path in self.read_only_paths():
            args += ["--ro-bind", path, path]
            if os.path.isdir(path):
                args += _masks(outside_scan(path, self.secrets), empty, outside=True)
        return args

    def workspace(
        self, empty: str, protected: Protected, overlays: dict[str, Path] | None = None
    ) -> list[str]:
        """The workspace and what shields it (step 5)."""
        root = self.root
        args = ["--bind", root, root]
        for folder in self._pinned(protected):
            args += ["--bind", folder, folder]
        guarded = [str(p) for p in protected.protected if not p.is_symlink()]
        for path in _outermost([*guarded, *(str(p) for p in protected.protected_targets)]):
            args += ["--ro-bind", path, path]  # protected paths (``sandbox_protect.py``)
        if not self.settings.writable_envs:
            for env in _outermost([str(e) for e in protected.envs]):
                args += ["--ro-bind", env, env]  # code the user's tools run later
        for relative, copy in sorted((overlays or {}).items()):
            args += ["--ro-bind", str(copy), os.path.join(root, relative)]
        hidden = self.settings.git == "hidden"
        gits = _outermost([str(g) for g in protected.git])
        for git in gits:
            if hidden:
                args += ["--tmpfs", str(git), "--remount-ro", str(git)]
            else:
                args += ["--ro-bind", str(git), str(git)]
        for file in protected.git_files:
            if not file.is_symlink() and not any(_inside(str(file), g) for g in gits):
                args += ["--ro-bind", empty if hidden else str(file), str(file)]
        for secret in self._git_secrets(protected, gits if hidden else []):
            args += ["--ro-bind", empty, secret]
        for folder in self._hooks(protected):
            if not any(_inside(folder, g) for g in gits):
                args += ["--ro-bind", folder, folder]
        args += _masks(protected, empty)
        cache = own_cache_inside(self.root)
        if cache is not None:  # agentls' index (every word of the source) and checkpoints
            args += ["--tmpfs", cache, "--remount-ro", cache]
        return args

    def _pinned(self, protected: Protected) -> list[str]:
        """The folders above a secret matched by its path (``**/.config/gh/``), not its
        name alone: each becomes a mount point (bound onto itself, before anything
        else), which a command cannot rename (EBUSY), so ``mv .config cfg`` cannot
        take the secret out of its pattern. First in the list: later mounts (masks,
        read-only protected paths) cover these."""
        out: set[str] = set()
        for paths, is_dir in ((protected.secret_files, False), (protected.secret_dirs, True)):
            for path in paths:
                relative = os.path.relpath(path, self.root)
                if relative.startswith("..") or "/" not in relative:
                    continue
                if self.secrets.is_secret(os.path.basename(relative), is_dir=is_dir):
                    continue  # matched by its name: any folder above keeps it matched
                if not self.secrets.is_secret(relative, is_dir=is_dir):
                    continue  # a socket, a fifo: masked whatever its name
                parts = relative.split("/")[:-1]
                out.update(os.path.join(self.root, *parts[: i + 1]) for i in range(len(parts)))
        return sorted(p for p in out if os.path.isdir(p) and not os.path.islink(p))

    def _git_secrets(self, protected: Protected, hidden: list[str]) -> list[str]:
        """Configs with credentials, and every file a config includes, in the workspace
        (but in the ``hidden`` folders, which show nothing anyway)."""
        out: set[str] = set()
        for git in protected.git:
            for config in sandbox_git.config_files(str(git)):
                if sandbox_git.has_credentials(config):
                    out.add(config)
                out.update(
                    f
                    for f in sandbox_git.included_files(config)
                    if _inside(f, self.root) and os.path.isfile(f) and not os.path.islink(f)
                )
        return sorted(p for p in out if not any(_inside(p, h) for h in hidden))

    def _hooks(self, protected: Protected) -> list[str]:
        """``core.hooksPath`` folders inside the workspace (a husky ``.husky/``)."""
        out: set[str] = set()
        for git in protected.git:
            worktree = os.path.dirname(str(git))
            for config in sandbox_git.config_files(str(git)):
                for folder in sandbox_git.hooks_paths(config, worktree):
                    real = os.path.realpath(folder)
                    if _inside(real, self.root) and real != self.root and os.path.isdir(real):
                        out.add(real)
        return sorted(out)

    def limits(self) -> list[str]:
        """The command's resource limits (``prlimit``, inherited by every process it
        starts); none where ``prlimit`` is missing (logged)."""
        if not os.access(PRLIMIT, os.X_OK):
            log.warning("%s is missing: commands run without process and memory limits", PRLIMIT)
            return []
        s = self.settings
        processes, memory, size = s.max_processes, s.max_memory_mb << 20, s.max_file_mb << 20
        return [
            PRLIMIT,
            f"--nproc={processes}:{processes}",
            f"--data={memory}:{memory}",
            f"--fsize={size}:{size}",
            "--core=0:0",
            "--",
        ]


def _redacted_outside(path: Path, empty: str) -> str:
    """A copy of ``path`` (a config outside the workspace) with its secret lines
    hidden, next to ``empty``; ``empty`` when it cannot be read as text."""
    try:
        with open(path, "rb") as file:
            text = decode_text(file.read(OUTSIDE_CONTENT_BYTES + 1))
    except OSError:
        return empty
    if text is None:
        return empty
    name = hashlib.sha256(str(path).encode("utf-8", "surrogateescape")).hexdigest()[:20]
    copy = Path(empty).parent / f"outside-{name}"
    try:
        copy.write_text(redact(text, str(path)).text, encoding="utf-8")
    except OSError:
        return empty
    return str(copy)


def own_cache_inside(root: str) -> str | None:
    """agentls' cache folder (``AGENTLS_CACHE_DIR``, ``XDG_CACHE_HOME``: a devcontainer
    may point them into the project) when it lies inside the workspace ``root``:
    made if missing (0700), so that a command cannot plant one; else None."""
    cache = os.path.realpath(default_cache_dir())
    if cache == root or not _inside(cache, root):
        return None
    try:
        os.makedirs(cache, mode=0o700, exist_ok=True)
    except OSError:
        pass
    return cache if os.path.isdir(cache) and not os.path.islink(cache) else None


def _outermost(folders: list[str]) -> list[str]:
    """The folders not inside another one of the list."""
    out: list[str] = []
    for folder in sorted(folders):
        if not any(_inside(folder, o) for o in out):
            out.append(folder)
    return out


def _masks(protected: Protected, empty: str, *, outside: bool = False) -> list[str]:
    """Mounts that hide what ``protected`` names; ``outside`` (a tree outside the
    workspace): files holding secret content too, by a redacted copy written next to
    ``empty`` (the workspace's get theirs from ``sandbox.py``)."""
    args: list[str] = []
    for path in protected.secret_content if outside else []:
        args += ["--ro-bind", _redacted_outside(path, empty), str(path)]
    for path in protected.secret_files:
        args += ["--ro-bind", empty, str(path)]
    for path in protected.secret_dirs:
        args += ["--tmpfs", str(path), "--remount-ro", str(path)]
    return args
