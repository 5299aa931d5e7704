"""Shell commands of the agent, run under bubblewrap (``bwrap``) in one workspace.

Inside the sandbox the workspace is writable at its own path (and the working
folder); the rest of the system is read-only, the home folder is an empty
scratch space (toolchains such as ``~/.pyenv`` or ``~/.cargo`` stay readable),
``/tmp`` and ``/run`` are fresh, there is no network and no process of the host
in sight. Every ``.git`` is read-only (no hooks written), and the workspace's
secret files are covered by an empty file, secret folders by an empty one. The
environment is an allow-list (never the server's keys or tokens).

Each run has a timeout; on timeout, ``stop`` or cancellation the whole process
tree is killed (the sandbox's own PID namespace dies with it). Output
(stdout and stderr together) keeps its head and tail within a cap.

Where bubblewrap is missing or cannot work (user namespaces disabled, say),
``sandbox_available()`` says why; the runner then runs commands unsandboxed,
with the same environment, timeout, kill and cap, and the caller must ask the
user before every command.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agentls.context.files import SKIP_DIRS
from agentls.policy.secrets import SecretMatcher

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 120.0  # seconds a command may run unless it asks for another limit
MAX_TIMEOUT = 600.0  # the most a command may ask for
OUTPUT_HEAD = 12_000  # bytes of output kept from the start
OUTPUT_TAIL = 12_000  # and from the end
MAX_SCAN_ENTRIES = 200_000  # a workspace with more entries is not scanned for secrets
_CHECK_TIMEOUT = 15.0
BWRAP = "/usr/bin/bwrap"  # where Debian's bubblewrap puts it (when not on PATH)

# Folders of the home directory that hold toolchains, readable in the sandbox.
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
    "go",
    ".elan",
    ".ghcup",
)
# Environment variables a command gets from the server (besides LC_*); nothing else.
PASSED_ENV = ("LANG", "LANGUAGE", "TERM", "COLORTERM", "TZ", "USER", "LOGNAME")


class SandboxError(Exception):
    """A command cannot be run safely; ``str(error)`` says why."""


@dataclass(frozen=True)
class SandboxCheck:
    available: bool
    reason: str  # why not (empty when available)


@dataclass(frozen=True)
class CommandResult:
    command: str
    exit_code: int | None  # None when it was killed (timeout, stop, cancellation)
    output: str  # stdout and stderr merged, capped (head and tail), decoded with U+FFFD
    timed_out: bool
    cancelled: bool  # stopped by the caller before it ended
    duration: float  # seconds
    sandboxed: bool
    cut_bytes: int = 0  # bytes of output left out in the middle
    unsaved: tuple[str, ...] = ()  # files whose editor text differs from the disk

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def _bwrap() -> str | None:
    found = shutil.which("bwrap")
    return found or (BWRAP if os.access(BWRAP, os.X_OK) else None)


_ISOLATION = (
    "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--tmpfs", "/run",
    "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
    "--hostname", "agentls-sandbox", "--cap-drop", "ALL", "--die-with-parent", "--new-session",
)  # fmt: skip


@functools.cache
def sandbox_available() -> SandboxCheck:
    """Whether bubblewrap is installed and works here (checked once: it runs ``true``
    in a sandbox like the real one). Blocks for a few milliseconds: from the event
    loop, call it through ``asyncio.to_thread`` the first time."""
    bwrap = _bwrap()
    if bwrap is None:
        return SandboxCheck(
            False,
            "bubblewrap (bwrap) is not installed; on Debian or Ubuntu: apt-get install bubblewrap",
        )
    try:
        done = subprocess.run(
            [bwrap, "--ro-bind", "/", "/", *_ISOLATION, "--clearenv", "--", "true"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=_CHECK_TIMEOUT,
            env=_safe_env({}, str(Path.home())),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return SandboxCheck(False, f"bubblewrap could not be started ({error})")
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip().splitlines()
        first = said[0] if said else f"exit code {done.returncode}"
        return SandboxCheck(
            False,
            f"bubblewrap does not work here ({first}); unprivileged user namespaces may be "
            "disabled (sysctl kernel.unprivileged_userns_clone, AppArmor "
            "restrict_unprivileged_userns) or forbidden in this container",
        )
    return SandboxCheck(True, "")


def _safe_env(extra: dict[str, str], home: str) -> dict[str, str]:
    """The allow-listed environment: no keys, tokens or anything else of the server."""
    env = {k: v for k, v in os.environ.items() if k in PASSED_ENV or k.startswith("LC_")}
    env.setdefault("LANG", "C.UTF-8")
    env["PATH"] = os.environ.get("PATH") or "/usr/local/bin:/usr/bin:/bin"
    env["HOME"] = home
    env["TMPDIR"] = "/tmp"
    env.update(extra)
    return env


def _venv(root: Path) -> Path | None:
    """The workspace's Python virtualenv (``.venv``, ``venv`` or any top folder with a
    ``pyvenv.cfg``), if it has one."""
    candidates = [root / ".venv", root / "venv"]
    try:
        candidates += sorted(p for p in root.iterdir() if p.is_dir())
    except OSError:
        pass
    return next((p for p in candidates if (p / "pyvenv.cfg").is_file()), None)


def _venv_base(venv: Path) -> Path | None:
    """The installation a virtualenv's python comes from (``home = .../bin``)."""
    try:
        for line in (venv / "pyvenv.cfg").read_text(errors="replace").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "home" and value.strip():
                return Path(os.path.realpath(value.strip())).parent
    except OSError:
        pass
    return None


@dataclass(frozen=True)
class Protected:
    """What to shield in a workspace: ``.git`` entries, secret files and folders."""

    git: list[Path]
    secret_files: list[Path]
    secret_dirs: list[Path]


@dataclass(frozen=True)
class _Folder:
    mtime_ns: int
    subfolders: tuple[str, ...]  # relative paths of the folders to enter
    git: tuple[str, ...]
    secret_files: tuple[str, ...]
    secret_dirs: tuple[str, ...]


class SecretScan:
    """Every ``.git``, secret file and secret folder of a workspace, gitignored ones
    included; dependency folders (node_modules, virtualenvs, caches) are not entered:
    a certificate bundle in a package is not the user's secret. Symlinks are left
    alone (their target is judged where it lives).

    A folder whose modification time has not changed since the last scan (and was
    not modified just before it) is not read again: a scan before each command
    costs one ``stat`` per folder."""

    def __init__(self, root: Path, secrets: SecretMatcher) -> None:
        self.root = str(root)
        self.secrets = secrets
        self._folders: dict[str, _Folder] = {}

    def scan(self) -> Protected:
        """Raises ``SandboxError`` for a workspace too big to scan."""
        racy = time.time_ns() - 2_000_000_000  # a folder changed after this: read it again
        folders: dict[str, _Folder] = {}
        git: list[str] = []
        files: list[str] = []
        dirs: list[str] = []
        stack = [""]
        entries = 0
        while stack:
            relative = stack.pop()
            try:
                mtime = os.stat(os.path.join(self.root, relative)).st_mtime_ns
            except OSError:
                continue
            folder = self._folders.get(relative)
            if folder is None or folder.mtime_ns != mtime:
                folder = self._read(relative, mtime)
            if folder.mtime_ns < racy:
                folders[relative] = folder
            entries += len(folder.subfolders) + len(folder.secret_files) + 1
            if entries > MAX_SCAN_ENTRIES:
                raise SandboxError(
                    f"the workspace has more than {MAX_SCAN_ENTRIES} folders outside "
                    "dependency folders; too many to check for secrets before a command"
                )
            git += folder.git
            files += folder.secret_files
            dirs += folder.secret_dirs
            stack += folder.subfolders
        self._folders = folders
        files += [f"{g}/config" for g in git if _credentials_in(os.path.join(self.root, g))]

        def absolute(paths: list[str]) -> list[Path]:
            return sorted(Path(self.root, p) for p in paths)

        return Protected(absolute(git), absolute(files), absolute(dirs))

    def _read(self, relative: str, mtime: int) -> _Folder:
        subfolders: list[str] = []
        git: list[str] = []
        files: list[str] = []
        dirs: list[str] = []
        try:
            entries = list(os.scandir(os.path.join(self.root, relative)))
        except OSError:
            entries = []
        for entry in entries:
            path = f"{relative}/{entry.name}" if relative else entry.name
            try:
                if entry.is_symlink():
                    continue
                if entry.name == ".git":
                    git.append(path)
                elif entry.is_dir():
                    if self.secrets.is_secret(path, is_dir=True):
                        dirs.append(path)
                    elif not self._dependencies(entry):
                        subfolders.append(path)
                elif entry.is_file() and self.secrets.is_secret(path):
                    files.append(path)
            except OSError:
                continue
        return _Folder(mtime, tuple(subfolders), tuple(git), tuple(files), tuple(dirs))

    @staticmethod
    def _dependencies(entry: os.DirEntry[str]) -> bool:
        """A folder of installed packages or caches, not the user's own files."""
        name = entry.name
        if name in SKIP_DIRS or name.endswith(".egg-info"):
            return True
        return os.path.exists(os.path.join(entry.path, "pyvenv.cfg")) or os.path.isdir(
            os.path.join(entry.path, "conda-meta")
        )


_CREDENTIAL = re.compile(
    rb"://[^/\s@]+@|^\s*(?:password|token|extraheader)\s*=", re.IGNORECASE | re.MULTILINE
)


def _credentials_in(git: str) -> bool:
    """Whether a repository's ``config`` holds a password or token (a remote URL with
    ``user:token@``, an ``http.extraHeader``): then it is masked like a secret file
    (git works without it, minus the remotes)."""
    try:
        with open(os.path.join(git, "config"), "rb") as config:
            return _CREDENTIAL.search(config.read(1 << 16)) is not None
    except OSError:  # no such file (a worktree's .git file), unreadable
        return False


def scan_workspace(root: Path, secrets: SecretMatcher) -> Protected:
    """One ``SecretScan`` of ``root``."""
    return SecretScan(root, secrets).scan()


class _Capture:
    """Output as it comes: the first and last bytes kept, the middle counted."""

    def __init__(self, head: int, tail: int) -> None:
        self.head_limit, self.tail_limit = head, tail
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self.lines = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        self.lines += chunk.count(b"\n")
        room = self.head_limit - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > self.tail_limit:
                del self.tail[: len(self.tail) - self.tail_limit]

    async def drain(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(65536):
            self.feed(chunk)

    def text(self) -> tuple[str, int]:
        head, tail = bytes(self.head), bytes(self.tail)
        cut = self.total - len(head) - len(tail)
        if cut <= 0:
            return _decode(head + tail), 0
        # Cut at line ends where there is one near the edge.
        end = head.rfind(b"\n", max(0, len(head) - 2000))
        if end >= 0:
            cut += len(head) - end - 1
            head = head[: end + 1]
        start = tail.find(b"\n", 0, 2000)
        if start >= 0:
            cut += start + 1
            tail = tail[start + 1 :]
        lines = max(0, self.lines - head.count(b"\n") - tail.count(b"\n"))
        note = f"… ({cut} bytes, {lines} lines of output cut here) …\n"
        if not head.endswith(b"\n"):
            note = "\n" + note
        return _decode(head) + note + _decode(tail), cut


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class CommandRunner:
    """Runs the agent's shell commands in ``root``: sandboxed when ``sandboxed``
    (see ``command_runner`` for the usual way to make one)."""

    def __init__(
        self,
        root: Path,
        secrets: SecretMatcher | None = None,
        *,
        sandboxed: bool,
        unsandboxed_reason: str = "",
        default_timeout: float = DEFAULT_TIMEOUT,
        max_timeout: float = MAX_TIMEOUT,
        output_head: int = OUTPUT_HEAD,
        output_tail: int = OUTPUT_TAIL,
    ) -> None:
        self.root = Path(os.path.realpath(root))
        self.secrets = secrets or SecretMatcher()
        self.sandboxed = sandboxed
        self.unsandboxed_reason = "" if sandboxed else unsandboxed_reason
        self.default_timeout = default_timeout
        self.max_timeout = max_timeout
        self.output_head, self.output_tail = output_head, output_tail
        self.shell = "/bin/bash" if os.access("/bin/bash", os.X_OK) else "/bin/sh"
        self._scan = SecretScan(self.root, self.secrets)
        # The editor's unsaved texts by workspace-relative path: in the sandbox a command
        # sees them (read-only) in place of the disk's, as the user sees them.
        self.buffers: Callable[[], dict[str, str]] = dict
        self._stamps: dict[str, tuple[int, int]] = {}  # path -> (text hash, mtime shown)

    def timeout_for(self, requested: float | None) -> float:
        """The timeout a run gets: the default, or the one asked for within the maximum."""
        if requested is None or requested <= 0:
            return self.default_timeout
        return min(float(requested), self.max_timeout)

    def _home(self) -> str:
        home = os.path.realpath(Path.home())
        return home if home not in ("/", "") else "/tmp"

    def _env(self) -> dict[str, str]:
        extra: dict[str, str] = {}
        venv = _venv(self.root)
        if venv is not None:
            extra["VIRTUAL_ENV"] = str(venv)
            extra["PATH"] = f"{venv / 'bin'}:{os.environ.get('PATH') or '/usr/bin:/bin'}"
        return _safe_env(extra, self._home())

    def unsaved(self) -> dict[str, str]:
        """The buffers that differ from the disk, for files that exist on disk and are
        not secret (a missing file cannot be covered without creating it)."""
        out: dict[str, str] = {}
        for relative, text in sorted(self.buffers().items()):
            path = self.root / relative
            if self.secrets.is_secret(relative) or not path.is_file() or path.is_symlink():
                continue
            try:
                if path.read_text(encoding="utf-8") == text:
                    continue
            except (OSError, UnicodeDecodeError):
                pass
            out[relative] = text
        return out

    def bwrap_arguments(
        self, empty_file: Path, protected: Protected, overlays: dict[str, Path] | None = None
    ) -> list[str]:
        """bubblewrap's arguments before the command (order matters: later mounts cover
        earlier ones)."""
        bwrap = _bwrap() or BWRAP
        args = [bwrap, "--ro-bind", "/", "/", *_ISOLATION]
        home = Path(self._home())
        hidden = [h for h in {home, Path("/root")} if h != Path("/tmp") and h.is_dir()]
        for folder in sorted(hidden):
            args += ["--tmpfs", str(folder)]
            for name in HOME_TOOLCHAINS:
                tool = folder / name
                if tool.is_dir() and not tool.is_symlink():
                    args += ["--ro-bind", str(tool), str(tool)]
                    args += _masks_of(tool, self.secrets, empty_file)
        venv = _venv(self.root)
        base = _venv_base(venv) if venv is not None else None
        if base is not None and any(base.is_relative_to(h) for h in hidden) and base.is_dir():
            args += ["--ro-bind", str(base), str(base)]
        root = str(self.root)
        args += ["--bind", root, root]
        for relative, copy in sorted((overlays or {}).items()):
            args += ["--ro-bind", str(copy), str(self.root / relative)]
        for git in protected.git:
            args += ["--ro-bind", str(git), str(git)]
        for path in protected.secret_files:
            args += ["--ro-bind", str(empty_file), str(path)]
        for path in protected.secret_dirs:
            args += ["--tmpfs", str(path), "--remount-ro", str(path)]
        args += ["--clearenv"]
        for key, value in self._env().items():
            args += ["--setenv", key, value]
        args += ["--chdir", root]
        return args

    async def run(
        self,
        command: str,
        timeout: float | None = None,
        *,
        stop: asyncio.Event | None = None,
    ) -> CommandResult:
        """Run ``command`` with ``bash -c`` in the workspace. Timeout or ``stop``: the
        whole process tree is killed and the result says so; cancellation kills it too
        and re-raises. Raises ``SandboxError`` when the sandbox cannot be set up."""
        limit = self.timeout_for(timeout)
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="agentls-run-") as scratch:
            argv, unsaved = await asyncio.to_thread(self._prepare, command, Path(scratch))
            result = await self._spawn(command, argv, limit, stop, started)
        return dataclasses.replace(result, unsaved=tuple(unsaved))

    def _stamp(self, relative: str, text: str) -> int:
        """The modification time a buffer's copy shows: the same for the same text, a
        new whole second for a new text (and never the disk file's). Python's bytecode
        cache trusts the source's size and mtime in seconds: a same-size change within
        a second would otherwise run the stale compiled code."""
        digest = hash(text)
        last = self._stamps.get(relative)
        if last is not None and last[0] == digest:
            return last[1]
        try:
            disk = int((self.root / relative).stat().st_mtime)
        except OSError:
            disk = -1
        stamp = max(int(time.time()), last[1] + 1 if last is not None else 0)
        if stamp == disk:
            stamp += 1
        self._stamps[relative] = (digest, stamp)
        return stamp

    def _prepare(self, command: str, scratch: Path) -> tuple[list[str], list[str]]:
        """The command line, and the files shown with the editor's unsaved text (in a
        thread: it scans the workspace and writes the buffers' copies to ``scratch``)."""
        unsaved = self.unsaved()
        if not self.sandboxed:
            return [self.shell, "-c", command], list(unsaved)
        protected = self._scan.scan()
        empty = scratch / "empty"
        empty.touch(mode=0o444)
        overlays: dict[str, Path] = {}
        for i, (relative, text) in enumerate(unsaved.items()):
            copy = overlays[relative] = scratch / f"buffer-{i}"
            copy.write_text(text, encoding="utf-8")
            stamp = self._stamp(relative, text)
            os.utime(copy, (stamp, stamp))
        args = self.bwrap_arguments(empty, protected, overlays)
        return [*args, "--", self.shell, "-c", command], list(unsaved)

    async def _spawn(
        self,
        command: str,
        argv: list[str],
        limit: float,
        stop: asyncio.Event | None,
        started: float,
    ) -> CommandResult:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=self.root,
            env=self._env(),
            start_new_session=True,  # its own process group: one kill ends everything
        )
        capture = _Capture(self.output_head, self.output_tail)
        assert proc.stdout is not None
        reader = asyncio.ensure_future(capture.drain(proc.stdout))
        waiter = asyncio.ensure_future(proc.wait())
        stopper = asyncio.ensure_future(stop.wait()) if stop is not None else None
        timed_out = cancelled = False
        try:
            pending = {waiter} if stopper is None else {waiter, stopper}
            await asyncio.wait(pending, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
            if not waiter.done():
                timed_out = stopper is None or not stopper.done()
                cancelled = not timed_out
        except asyncio.CancelledError:
            _kill_group(proc.pid)
            await _reap(proc, reader)
            raise
        finally:
            if stopper is not None:
                stopper.cancel()
            # Whatever is left of the group (background jobs of an unsandboxed command;
            # in the sandbox, its PID namespace ended with it) is killed.
            _kill_group(proc.pid)
        await _reap(proc, reader)
        output, cut = capture.text()
        duration = time.monotonic() - started
        killed = timed_out or cancelled
        log.debug("ran %r in %.2f s: exit %s", command, duration, proc.returncode)
        return CommandResult(
            command=command,
            exit_code=None if killed else proc.returncode,
            output=output,
            timed_out=timed_out,
            cancelled=cancelled,
            duration=duration,
            sandboxed=self.sandboxed,
            cut_bytes=cut,
        )


def _masks_of(folder: Path, secrets: SecretMatcher, empty_file: Path) -> list[str]:
    """Cover the secret files right inside a toolchain folder (``~/.cargo/credentials.toml``)."""
    args: list[str] = []
    try:
        for entry in os.scandir(folder):
            if entry.is_file(follow_symlinks=False) and secrets.is_secret(entry.name):
                args += ["--ro-bind", str(empty_file), entry.path]
    except OSError:
        pass
    return args


async def _reap(proc: asyncio.subprocess.Process, reader: asyncio.Future[None]) -> None:
    """Wait for the killed process and the end of its output (shielded: a second
    cancellation does not leave a zombie or a pending read behind)."""

    async def settle() -> None:
        await proc.wait()
        try:
            await asyncio.wait_for(reader, 5)
        except TimeoutError:
            log.warning("output of a killed command did not end; left unread")

    await asyncio.shield(settle())


def command_runner(root: Path, secrets: SecretMatcher | None = None) -> CommandRunner:
    """A runner for ``root``: sandboxed when bubblewrap works here, else unsandboxed with
    the reason (``runner.unsandboxed_reason``) to tell the user."""
    check = sandbox_available()
    if not check.available:
        log.warning("commands run without a sandbox: %s", check.reason)
    return CommandRunner(root, secrets, sandboxed=check.available, unsandboxed_reason=check.reason)
