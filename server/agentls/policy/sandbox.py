"""Shell commands of the agent, run under bubblewrap (``bwrap``) in one workspace.

What a command sees is a default-deny view (``sandbox_view.py``): the system's
folders and the toolchains the machine or the user's settings declare, read-only;
the workspace, writable; nothing else of the host (no home folder, no folder above
the workspace, no sibling project, no socket of the host). Repositories are
hidden or read-only (setting ``sandbox.git``), protected paths (editor settings,
``.envrc``, ...) read-only; secret files, sockets and fifos are covered by an empty
file, secret folders by an empty one, files holding secret content by a redacted
copy, at any depth (``sandbox_scan.py``). A repository or protected path a command
creates is turned off after it (``sandbox_git.py``, ``sandbox_protect.py``). No
network, no process of the host in sight, no user namespace of its own
(``--disable-userns``), limits on processes (a pids cgroup: ``sandbox_pids.py``),
memory, file size, the size of ``/tmp`` and the home folder, and the disk it may
use while it runs (``sandbox_disk.py``). Virtual environments and ``node_modules``
are read-only unless ``sandbox.writableEnvs``; ``agent.denyPaths`` is masked like a
secret. The environment is an allow-list (never the server's keys or tokens).

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
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

from agentls.config import SandboxSettings
from agentls.policy.approved import approved_by_rule
from agentls.policy.capture import OutputCapture
from agentls.policy.protected import ProtectedMatcher, home_patterns
from agentls.policy.sandbox_disk import DiskWatch
from agentls.policy.sandbox_git import disable_new_repositories
from agentls.policy.sandbox_pids import PidsCgroup
from agentls.policy.sandbox_protect import Before, turn_off_new
from agentls.policy.sandbox_scan import CONTENT_SCAN_BYTES, Protected, ScanError, TreeScan
from agentls.policy.sandbox_scan import identity as _identity
from agentls.policy.sandbox_seccomp import keyring_filter
from agentls.policy.sandbox_view import (
    HOME_TOOLCHAINS,
    View,
    bwrap_path,
    find_bwrap,
    home_folder,
    no_nested_user_namespaces,
)
from agentls.policy.secret_verdicts import VerdictStore
from agentls.policy.secrets import SecretContentFiles, SecretMatcher, redact

__all__ = ["HOME_TOOLCHAINS", "Protected", "SecretScan", "scan_workspace"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 120.0  # seconds a command may run unless it asks for another limit
MAX_TIMEOUT = 600.0  # the most a command may ask for
OUTPUT_HEAD = 12_000  # bytes of output kept from the start
OUTPUT_TAIL = 12_000  # and from the end
_CHECK_TIMEOUT = 15.0
# Environment variables a command gets from the server (besides LC_*); nothing else.
PASSED_ENV = ("LANG", "LANGUAGE", "TERM", "COLORTERM", "TZ", "USER", "LOGNAME")
SecretScan = TreeScan  # the workspace's scan (the name tests and callers know)


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
    return find_bwrap()


_ISOLATION = (
    "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
    "--hostname", "agentls-sandbox", "--cap-drop", "ALL", "--die-with-parent", "--new-session",
)  # fmt: skip


def _isolation(bwrap: str, workspace: str | None = None) -> list[str]:
    """The namespaces and limits of every sandbox, no nested user namespace included."""
    return [*_ISOLATION, *no_nested_user_namespaces(bwrap, workspace)]


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
    probe = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", *_isolation(bwrap)]
    try:
        done = subprocess.run(
            [*probe, "--clearenv", "--", "true"],
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


_SYSTEM_FIRST: ContextVar[bool] = ContextVar("agentls_system_path_first", default=False)


def _venv(root: Path) -> Path | None:
    """The workspace's Python virtualenv (``.venv``, ``venv`` or any top folder with a
    ``pyvenv.cfg``), if it has one."""
    candidates = [root / ".venv", root / "venv"]
    try:
        candidates += sorted(p for p in root.iterdir() if p.is_dir())
    except OSError:
        pass
    return next((p for p in candidates if _is_file(p / "pyvenv.cfg")), None)


def _is_file(path: Path) -> bool:
    """``path.is_file()``, False where a folder cannot be entered (a command's
    ``chmod 000``: every later command must still start)."""
    try:
        return path.is_file()
    except OSError:
        return False


def _keyring_filter(scratch: Path) -> list[str]:
    """bubblewrap's ``--seccomp FD`` with the filter that closes the kernel's keyrings
    to the command (``sandbox_seccomp.py``); the descriptor is opened here and closed
    by ``run`` once the command started. Nothing where the machine is not known."""
    program = keyring_filter()
    if program is None:
        log.warning("no keyring filter for %s: commands can reach the keyrings", os.uname())
        return []
    path = scratch / "keyring.bpf"
    path.write_bytes(program)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    return ["--seccomp", str(fd)]


def _seccomp_fds(argv: list[str]) -> tuple[int, ...]:
    """The descriptors ``_keyring_filter`` opened for ``argv``."""
    options = argv[: argv.index("--")] if "--" in argv else []
    return tuple(int(options[i + 1]) for i, w in enumerate(options[:-1]) if w == "--seccomp")


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
        settings: SandboxSettings | None = None,
        protected_paths: Sequence[str] = (),
        deny_paths: Sequence[str] = (),
    ) -> None:
        """``protected_paths``: ``agent.protectedPaths``, read-only to commands as the
        defaults of ``policy/protected.py`` are. ``deny_paths``: ``agent.denyPaths``,
        masked from commands as secret files are (empty, read-only)."""
        self.root = Path(os.path.realpath(root))
        self.secrets = (secrets or SecretMatcher()).and_denied(deny_paths)
        self.sandboxed = sandboxed
        self.unsandboxed_reason = "" if sandboxed else unsandboxed_reason
        self.default_timeout = default_timeout
        self.max_timeout = max_timeout
        self.output_head, self.output_tail = output_head, output_tail
        self.shell = "/bin/bash" if os.access("/bin/bash", os.X_OK) else "/bin/sh"
        self.settings = settings or SandboxSettings()
        verdicts = VerdictStore(self.root)  # earlier runs' content checks, by content
        content = SecretContentFiles(
            self.root,
            max_bytes=CONTENT_SCAN_BYTES,
            verdicts=verdicts,
            git_data=self.settings.git == "hidden",  # bundles and packs: history
        )
        guard = ProtectedMatcher((*protected_paths, *home_patterns(self.root)))
        self._scan = TreeScan(self.root, self.secrets, content=content, protected=guard)
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
        return home_folder()

    def _env(self) -> dict[str, str]:
        """The command's environment. The workspace's virtualenv ``bin`` comes first on
        ``PATH``, except for a line an allow rule approved (``approved.py``): then
        last, so that an allowed name the system has never runs the repository's
        program of that name (a ``.venv/bin/ls``)."""
        extra: dict[str, str] = {}
        venv = _venv(self.root)
        if venv is not None:
            extra["VIRTUAL_ENV"] = str(venv)
            system = os.environ.get("PATH") or "/usr/bin:/bin"
            if _SYSTEM_FIRST.get():
                extra["PATH"] = f"{system}:{venv / 'bin'}"
            else:
                extra["PATH"] = f"{venv / 'bin'}:{system}"
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
        earlier ones; see ``sandbox_view.py``)."""
        view = View(self.root, self.secrets, self.settings)
        empty = str(empty_file)
        args = [bwrap_path(), *view.system(empty), *view.outside(empty)]
        isolation = _isolation(args[0], str(self.root))
        args += [*view.workspace(empty, protected, overlays), *isolation, "--clearenv"]
        for key, value in self._env().items():
            args += ["--setenv", key, value]
        args += ["--chdir", str(self.root)]
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
        _SYSTEM_FIRST.set(approved_by_rule(command))  # read by _env (threads copy it)
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="agentls-run-") as scratch:
            argv, unsaved, before = await asyncio.to_thread(self._prepare, command, Path(scratch))
            cgroup = await asyncio.to_thread(self._cgroup)
            keep = _seccomp_fds(argv)
            try:
                if cgroup is not None:
                    argv = cgroup.enter_argv(argv)
                result = await self._spawn(command, argv, limit, stop, started, keep)
            finally:
                for fd in keep:
                    os.close(fd)
                if cgroup is not None:
                    await asyncio.shield(asyncio.to_thread(cgroup.remove))
        if before is not None:
            notes = await asyncio.to_thread(self._after, *before)
            if notes:
                output = result.output + "".join(f"\nagentls: {n}" for n in notes) + "\n"
                result = dataclasses.replace(result, output=output)
        return dataclasses.replace(result, unsaved=tuple(unsaved))

    def _cgroup(self) -> PidsCgroup | None:
        """The command's pids cgroup (``sandbox_pids.py``): the process limit that holds
        for root too. None unsandboxed or where none can be made (then only
        RLIMIT_NPROC limits processes, and not for root: logged)."""
        if not self.sandboxed:
            return None
        cgroup = PidsCgroup.create(self.settings.max_processes)
        if cgroup is None and os.geteuid() == 0:
            log.warning("no pids cgroup can be made: a command's processes are not limited")
        return cgroup

    def _after(self, before: Protected, guarded: Before) -> list[str]:
        """Turn off the repositories and protected paths the command created (see
        ``sandbox_git.py``, ``sandbox_protect.py``)."""
        try:
            now = self._scan.scan()
        except ScanError:
            return []
        new = [p for p in now.git if _identity(p) not in before.identities]
        files = [p for p in now.git_files if _identity(p) not in before.identities]
        return disable_new_repositories(new, files) + turn_off_new(guarded, now)

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

    def _prepare(
        self, command: str, scratch: Path
    ) -> tuple[list[str], list[str], tuple[Protected, Before] | None]:
        """The command line, the files shown with the editor's unsaved text, and what
        the scan found (in a thread: it scans the workspace and writes the buffers'
        copies to ``scratch``)."""
        unsaved = self.unsaved()
        if not self.sandboxed:
            return [self.shell, "-c", command], list(unsaved), None
        try:
            protected = self._scan.scan()
        except ScanError as error:
            raise SandboxError(str(error)) from error
        empty = scratch / "empty"
        empty.touch(mode=0o444)
        overlays: dict[str, Path] = {}
        for i, (relative, text) in enumerate(unsaved.items()):
            copy = overlays[relative] = scratch / f"buffer-{i}"
            copy.write_text(redact(text, relative).text, encoding="utf-8")
            stamp = self._stamp(relative, text)
            os.utime(copy, (stamp, stamp))
        for i, path in enumerate(protected.secret_content):
            relative = os.path.relpath(path, self.root)
            if relative not in overlays:
                overlays[relative] = _redacted_copy(path, relative, scratch / f"hidden-{i}", empty)
        try:
            args = self.bwrap_arguments(empty, protected, overlays)
        except ScanError as error:
            raise SandboxError(str(error)) from error
        limits = View(self.root, self.secrets, self.settings).limits()
        argv = [*args, *_keyring_filter(scratch), "--", *limits, self.shell, "-c", command]
        return argv, list(unsaved), (protected, Before.of(protected))

    async def _spawn(
        self,
        command: str,
        argv: list[str],
        limit: float,
        stop: asyncio.Event | None,
        started: float,
        keep: tuple[int, ...] = (),
    ) -> CommandResult:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            pass_fds=keep,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=self.root,
            env=self._env(),
            start_new_session=True,  # its own process group: one kill ends everything
        )
        capture = OutputCapture(self.output_head, self.output_tail)
        assert proc.stdout is not None
        reader = asyncio.ensure_future(capture.drain(proc.stdout))
        waiter = asyncio.ensure_future(proc.wait())
        stopper = asyncio.ensure_future(stop.wait()) if stop is not None else None
        disk: asyncio.Future[str] | None = None
        if self.sandboxed:
            watch = DiskWatch(str(self.root), self.settings.max_write_mb)
            disk = asyncio.ensure_future(watch.exceeded())
        timed_out = cancelled = filled = False
        try:
            pending = {f for f in (waiter, stopper, disk) if f is not None}
            await asyncio.wait(pending, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
            if not waiter.done():
                filled = disk is not None and disk.done()
                cancelled = stopper is not None and stopper.done() and not filled
                timed_out = not filled and not cancelled
        except asyncio.CancelledError:
            _kill_group(proc.pid)
            await _reap(proc, reader)
            raise
        finally:
            if stopper is not None:
                stopper.cancel()
            if disk is not None and not disk.done():
                disk.cancel()
            # Whatever is left of the group (background jobs of an unsandboxed command;
            # in the sandbox, its PID namespace ended with it) is killed.
            _kill_group(proc.pid)
        await _reap(proc, reader)
        output, cut = capture.text()
        duration = time.monotonic() - started
        if filled and disk is not None:
            output += f"\nagentls: {disk.result()}\n"
        killed = timed_out or cancelled or filled
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


def command_runner(
    root: Path,
    secrets: SecretMatcher | None = None,
    settings: SandboxSettings | None = None,
    protected_paths: Sequence[str] = (),
    deny_paths: Sequence[str] = (),
) -> CommandRunner:
    """A runner for ``root``: sandboxed when bubblewrap works here, else unsandboxed with
    the reason (``runner.unsandboxed_reason``) to tell the user."""
    check = sandbox_available()
    if not check.available:
        log.warning("commands run without a sandbox: %s", check.reason)
    return CommandRunner(
        root,
        secrets,
        sandboxed=check.available,
        unsandboxed_reason=check.reason,
        settings=settings,
        protected_paths=protected_paths,
        deny_paths=deny_paths,
    )


def scan_workspace(root: Path, secrets: SecretMatcher) -> Protected:
    """One scan of ``root``."""
    return TreeScan(root, secrets).scan()


def _redacted_copy(path: Path, relative: str, copy: Path, empty: Path) -> Path:
    """What a command sees of a file holding secret content: its text with the secret
    lines hidden, as the tools show it; ``empty`` for a file that is no UTF-8 text (a
    compiled file holding a token, UTF-16/32 text, git history) or cannot be read."""
    try:
        if path.stat().st_size > CONTENT_SCAN_BYTES:
            return empty  # git history, or a file moved since it held a secret
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            return empty  # UTF-16/32 (valid UTF-8 byte by byte, NULs and all) or binary
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return empty
    copy.write_text(redact(text, relative).text, encoding="utf-8")
    info = path.stat()
    os.utime(copy, ns=(info.st_atime_ns, info.st_mtime_ns))
    return copy
