"""What commands change, kept so that it can be shown and undone.

A command (``run_command``, ``verify.commands``) writes to the disk directly, past the
editor. Around each one, ``CommandCheckpoint.around`` snapshots the workspace's
files (tracked, untracked and **ignored** alike: the workspace's ``.gitignore``,
which a command could write, decides nothing; secret files left out) into
a shadow git repository kept OUTSIDE the workspace, under the user's cache folder
(``<cache>/checkpoints/<hash of the root>``, as Cline's checkpoints do), and diffs
the snapshots after it. Git stores each content once, so a snapshot after the first
costs a stat of every file. The shadow repository ignores the user's and the
system's git configuration and the workspace's attributes: no filter, hook or
line-ending conversion runs, and the bytes are kept as they are.

The task's changed files are in ``changes`` (per file: its first content before
any command, its last after one); ``undo`` puts each back on the disk, refusing
per file, clearly, when the file changed again since (by the user, the editor or
anything else). ``diff`` is the unified diff for a terminal.

Size caps: a file over ``MAX_FILE_BYTES`` (32 MB) is not snapshotted; nor are the
ignored files past ``MAX_IGNORED_FILES`` / ``MAX_IGNORED_BYTES`` (build output and
packages: ``node_modules`` would fill the cache), nor new or changed files past
``MAX_SNAPSHOT_BYTES`` (512 MB) in one snapshot or once the store holds
``MAX_STORE_BYTES`` (4 GB), taken in path order, files outside package folders
first. A file left out before a command stays out after it; when the command
changed, created or deleted one, ``unrecorded`` names it and the tool result says
that undo cannot restore it; so does the undo (``UndoReport.not_kept``).

Not covered: files in nested repositories (git keeps only their commit), empty
folders (created ones are left after an undo), files the sandbox hides, and what
the caps leave out (named). Undo never writes through a folder that is a symbolic
link now.
"""

from __future__ import annotations

import asyncio
import difflib
import hashlib
import logging
import os
import stat
import subprocess
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from agentls.cache_dir import default_cache_dir
from agentls.edits.documents import EditorError
from agentls.policy.secrets import DEFAULT_SECRET_PATTERNS, SecretMatcher

log = logging.getLogger(__name__)

GIT_TIMEOUT = 120.0  # seconds for one snapshot (the first of a big workspace is slowest)
MAX_FILE_BYTES = 32 << 20  # a new or changed file bigger than this is not snapshotted
MAX_IGNORED_FILES = 10_000  # ignored files snapshotted at most (the rest: named if changed)
MAX_IGNORED_BYTES = 100 << 20  # and their bytes at most
MAX_SNAPSHOT_BYTES = 512 << 20  # new or changed bytes one snapshot stores at most
MAX_STORE_BYTES = 4 << 30  # the shadow repository grows no bigger (then: nothing new kept)
PACKAGE_FOLDERS = frozenset(
    {"node_modules", ".venv", "venv", "site-packages", "target", "build", "dist", ".tox"}
)
_LOCKS: dict[str, asyncio.Lock] = {}  # one per shadow repository: snapshots in turn
T = TypeVar("T")
_SYMLINK = "120000"
_EXEC = "100755"
_GITLINK = "160000"


@dataclass(frozen=True)
class Blob:
    mode: str  # git's: 100644, 100755, 120000 (a symlink)
    sha: str


@dataclass
class DiskChange:
    before: Blob | None  # None: a command created it
    after: Blob | None  # None: a command deleted it


@dataclass
class UndoReport:
    restored: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # "path: why"
    not_kept: list[str] = field(default_factory=list)  # changed, too big to keep

    def describe(self) -> str:
        parts = []
        if self.restored:
            parts.append("restored what commands changed: " + ", ".join(self.restored))
        if self.refused:
            parts.append("not restored: " + "; ".join(self.refused))
        if self.not_kept:
            parts.append(
                "not restored, too big to keep in the checkpoint (its size caps): "
                + ", ".join(self.not_kept)
            )
        return "; ".join(parts)


async def undo_message(edits: Callable[[], Awaitable[str]] | None, disk: UndoReport | None) -> str:
    """The answer of an undo: ``edits`` undoes the tools' edits (None: there are none),
    ``disk`` is what was put back of the commands' changes. Raises ``EditorError``
    (saying what was done) when a file was refused."""
    note = disk.describe() if disk is not None else ""
    try:
        done = await edits() if edits is not None else ""
    except EditorError as error:
        raise EditorError(f"{error}; {note}" if note else str(error)) from None
    text = "; ".join(part for part in (done, note) if part) or "restored 0 files"
    if disk is not None and disk.refused:
        raise EditorError(text)
    return text


Stamp = tuple[int, int, int]  # size, modification time, inode of a file (0s: none)


def _stamp(path: Path) -> tuple[int, Stamp]:
    """A file's size (0 for anything but a regular file) and its stamp."""
    try:
        info = os.lstat(path)
    except OSError:
        return 0, (0, 0, 0)
    size = info.st_size if stat.S_ISREG(info.st_mode) else 0
    return size, (info.st_size, info.st_mtime_ns, info.st_ino)


def _package_last(relative: str) -> tuple[bool, str]:
    """Files outside package and build folders first, then by path."""
    return any(part in PACKAGE_FOLDERS for part in relative.split("/")[:-1]), relative


class SnapshotError(Exception):
    """The workspace could not be snapshotted; ``str(error)`` says why."""


def shadow_dir(root: Path, cache: Path | None = None) -> Path:
    key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
    return (cache or default_cache_dir()) / "checkpoints" / key


class CommandCheckpoint:
    def __init__(
        self,
        root: Path,
        secret_patterns: Iterable[str] = (),
        cache: Path | None = None,
        read_only: Callable[[], Iterable[str]] = tuple,
        *,
        max_snapshot_bytes: int = MAX_SNAPSHOT_BYTES,
        max_store_bytes: int = MAX_STORE_BYTES,
    ) -> None:
        """``read_only``: the files a command will see read-only (the editor's unsaved
        buffers): a change of theirs during it is the user's save, not the command's."""
        self.root = root.resolve()
        self.read_only = read_only
        self.git_dir = shadow_dir(self.root, cache)
        self.secret_patterns = tuple(secret_patterns)
        self.changes: dict[str, DiskChange] = {}  # by workspace-relative path
        self.problem = ""  # why the last snapshot failed ("" when it worked)
        # Files the last command changed that the caps kept out of the snapshots.
        self.unrecorded: list[str] = []
        self.not_kept: set[str] = set()  # every file of the task the caps left out
        self.max_snapshot_bytes = max_snapshot_bytes
        self.max_store_bytes = max_store_bytes
        self._secrets: SecretMatcher | None = None

    # -- git --------------------------------------------------------------------------
    def _git(
        self, *args: str, input: bytes | None = None, init: bool = False, literal: bool = False
    ) -> bytes:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.git_dir),
            "GIT_DIR": str(self.git_dir),
            "GIT_WORK_TREE": str(self.root),
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_OPTIONAL_LOCKS": "0",
            "LC_ALL": "C",
        }
        if init:
            del env["GIT_DIR"], env["GIT_WORK_TREE"]
        if literal:
            env["GIT_LITERAL_PATHSPECS"] = "1"
        try:
            done = subprocess.run(
                ["git", *args],
                cwd=self.root,
                env=env,
                input=input,
                capture_output=True,
                timeout=GIT_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SnapshotError(f"git {args[0]}: {error}") from None
        if done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise SnapshotError(f"git {args[0]}: {message[-1] if message else done.returncode}")
        return done.stdout

    def _prepare(self) -> None:
        if not (self.git_dir / "HEAD").exists():
            self.git_dir.mkdir(parents=True, exist_ok=True)
            self._git("init", "--quiet", "--bare", str(self.git_dir), init=True)
            for key, value in (
                ("core.bare", "false"),
                ("core.autocrlf", "false"),
                ("core.fileMode", "true"),
                ("core.symlinks", "true"),
                ("core.fsmonitor", "false"),
                ("core.hooksPath", os.devnull),
                ("gc.auto", "0"),
            ):
                self._git("config", key, value)
        self.git_dir.parent.chmod(0o700)  # copies of the workspace's files: the user's alone
        self.git_dir.chmod(0o700)
        info = self.git_dir / "info"
        info.mkdir(exist_ok=True)
        # The workspace's .gitattributes may not convert or filter what is stored.
        (info / "attributes").write_text("* -text -filter -diff -merge -ident\n")
        (info / "exclude").write_text("\n".join([".git", *self._secret_lines()]) + "\n")

    def _secret_lines(self) -> list[str]:
        cache = self._own_cache()
        return [*DEFAULT_SECRET_PATTERNS, *self.secret_patterns, *([f"/{cache}/"] if cache else [])]

    def _own_cache(self) -> str:
        """The cache folder (index, these snapshots) relative to the workspace when it
        lies inside it (``AGENTLS_CACHE_DIR`` in the project), else ""."""
        relative = os.path.relpath(os.path.realpath(self.git_dir.parent.parent), self.root)
        return "" if relative == "." or relative.startswith("..") else relative

    def _is_secret(self, relative: str) -> bool:
        """The secret matcher's answer (lower-cased path, backup names: ``.ENV``,
        ``Id_RSA``, ``.env~``), which git's case-sensitive exclude list cannot give."""
        if self._secrets is None:
            self._secrets = SecretMatcher(self.secret_patterns)
        cache = self._own_cache()
        return self._secrets.is_secret(relative) or bool(cache and relative.startswith(cache + "/"))

    def _listed(self, *args: str) -> list[str]:
        raw = self._git("ls-files", "-z", *args)
        return [p.decode("utf-8", "surrogateescape") for p in raw.split(b"\0") if p]

    def snapshot(self, skip: Iterable[str] = ()) -> tuple[str, dict[str, Stamp]]:
        """The tree id of the workspace's files now, and the files left out by the caps
        (with their size and time), ``skip`` included (blocking: run it in a thread)."""
        self._prepare()
        exclude = str(self.git_dir / "info" / "exclude")
        tracked = self._listed("--modified", "--deleted")
        untracked = self._listed("--others", f"--exclude-from={exclude}")
        ignored = set(self._listed("--others", "--ignored", "--exclude-standard"))
        # The caps count the ignored files snapshotted already, then new ones.
        kept = self._listed("--cached", "--ignored", "--exclude-standard")
        budget = [MAX_IGNORED_FILES - len(kept), MAX_IGNORED_BYTES]
        budget[1] -= sum(_stamp(self.root / p)[0] for p in kept)
        left_out: dict[str, Stamp] = {}
        # New and changed files (those ``ls-files`` listed) are what a snapshot stores.
        room = min(self.max_snapshot_bytes, self.max_store_bytes - self._store_bytes())
        skipped = set(skip)
        adding: list[str] = []
        known = set(tracked)
        files = dict.fromkeys(p for p in tracked + untracked if not self._is_secret(p))
        for relative in sorted(files, key=_package_last):
            size, stamp = _stamp(self.root / relative)
            over = size > MAX_FILE_BYTES or relative in skipped
            if not over and relative in ignored and relative not in known:
                over = budget[0] < 1 or budget[1] < size
                if not over:
                    budget[0], budget[1] = budget[0] - 1, budget[1] - size
            if not over:
                over = size > room
                room -= 0 if over else size
            if over:
                left_out[relative] = stamp
            else:
                adding.append(relative)
        if adding:
            listed = "\0".join(adding).encode("utf-8", "surrogateescape")
            self._git(
                "add", "--all", "--force", "--ignore-errors", "--pathspec-from-file=-",
                "--pathspec-file-nul", input=listed, literal=True,
            )  # fmt: skip
        return self._git("write-tree").decode().strip(), left_out

    def _store_bytes(self) -> int:
        """The shadow repository's objects, in bytes."""
        total = 0
        for folder, _, names in os.walk(self.git_dir / "objects"):
            for name in names:
                try:
                    total += os.lstat(os.path.join(folder, name)).st_size
                except OSError:
                    pass
        return total

    def _diff(self, before: str, after: str) -> dict[str, DiskChange]:
        raw = self._git("diff-tree", "-r", "-z", "--no-renames", before, after)
        fields = raw.split(b"\0")
        found: dict[str, DiskChange] = {}
        for i in range(0, len(fields) - 1, 2):
            head, path = fields[i].decode(), fields[i + 1].decode("utf-8", "surrogateescape")
            if not head.startswith(":"):
                continue
            mode_a, mode_b, sha_a, sha_b, _ = head[1:].split(" ")
            if _GITLINK in (mode_a, mode_b):
                continue  # a nested repository: git keeps its commit only
            found[path] = DiskChange(
                None if set(sha_a) == {"0"} else Blob(mode_a, sha_a),
                None if set(sha_b) == {"0"} else Blob(mode_b, sha_b),
            )
        return found

    # -- around a command ----------------------------------------------------------------
    async def around(self, run: Callable[[], Awaitable[T]]) -> tuple[T, list[str]]:
        """Run ``run`` between two snapshots; its result and the files it changed (also
        recorded when ``run`` is cancelled). When a snapshot fails, ``run`` still runs
        and ``problem`` says why."""
        lock = _LOCKS.setdefault(str(self.git_dir), asyncio.Lock())
        async with lock:
            try:
                before, left_out = await asyncio.to_thread(self.snapshot)
            except SnapshotError as error:
                self.problem = str(error)
                log.warning("no checkpoint before a command: %s", error)
                return await run(), []
            saved_by_user = set(self.read_only())
            try:
                result = await run()
            except BaseException:
                await asyncio.shield(self._after(before, left_out, saved_by_user))
                raise
            return result, await self._after(before, left_out, saved_by_user)

    async def _after(
        self, before: str, left_out: dict[str, Stamp], saved_by_user: set[str]
    ) -> list[str]:
        try:
            after, still_out = await asyncio.to_thread(self.snapshot, left_out)
            changed = await asyncio.to_thread(self._diff, before, after)
        except SnapshotError as error:
            self.problem = str(error)
            log.warning("no checkpoint after a command: %s", error)
            return []
        self.problem = ""
        self.unrecorded = sorted(
            p for p, stamp in still_out.items() if left_out.get(p) != stamp
        ) + sorted(p for p in left_out if p not in still_out)
        self.not_kept.update(self.unrecorded)
        for path in set(changed) & saved_by_user:
            del changed[path]
        for path, change in changed.items():
            known = self.changes.get(path)
            self.changes[path] = DiskChange(known.before if known else change.before, change.after)
        for path in [p for p, c in self.changes.items() if c.before == c.after]:
            del self.changes[path]  # changed and changed back
        return sorted(changed)

    # -- what changed -------------------------------------------------------------------
    def _bytes(self, blob: Blob | None) -> bytes | None:
        return None if blob is None else self._git("cat-file", "blob", blob.sha)

    def _now(self, relative: str) -> Blob | None:
        """The file as it is on the disk now, as a blob id (None: no such file)."""
        path = self.root / relative
        if path.is_symlink():
            target = os.readlink(path).encode("utf-8", "surrogateescape")
            sha = self._git("hash-object", "--stdin", input=target).decode().strip()
            return Blob(_SYMLINK, sha)
        if not path.is_file():
            return None
        sha = self._git("hash-object", "--no-filters", "--", relative).decode().strip()
        return Blob(_EXEC if path.stat().st_mode & 0o100 else "100644", sha)

    def diff(self, skip: Iterable[str] = ()) -> str:
        """The unified diff of what commands changed (files in ``skip`` left out)."""
        out: list[str] = []
        left_out = set(skip)
        for relative, change in sorted(self.changes.items()):
            if relative in left_out:
                continue
            before, after = self._bytes(change.before), self._bytes(change.after)
            try:
                old = (before or b"").decode("utf-8").splitlines(keepends=True)
                new = (after or b"").decode("utf-8").splitlines(keepends=True)
            except UnicodeDecodeError:
                out.append(f"Binary files a/{relative} and b/{relative} differ\n")
                continue
            out.extend(
                difflib.unified_diff(
                    old,
                    new,
                    "/dev/null" if before is None else f"a/{relative}",
                    "/dev/null" if after is None else f"b/{relative}",
                )
            )
        return "".join(out)

    # -- undo ---------------------------------------------------------------------------
    def undo(self) -> UndoReport:
        """Put back every file as it was before the task's first command that changed it
        (blocking). A file that changed since the last command is refused, alone."""
        report = UndoReport()
        for relative, change in sorted(self.changes.items()):
            if not self._inside(relative):
                report.refused.append(
                    f"{relative} (a folder on its path is a symbolic link now: restoring it "
                    "could write outside the workspace)"
                )
                continue
            try:
                now = self._now(relative)
                if now != change.after:
                    report.refused.append(
                        f"{relative} (changed since the command that changed it; nothing "
                        "of it was undone)"
                    )
                    continue
                self._put_back(relative, change.before)
            except (OSError, SnapshotError) as error:
                report.refused.append(f"{relative}: {error}")
                continue
            report.restored.append(relative)
        for relative in report.restored:
            del self.changes[relative]
        report.not_kept = sorted(self.not_kept)
        self.not_kept.clear()
        return report

    def _inside(self, relative: str) -> bool:
        """Whether the folders on the way to ``relative`` are real folders of the
        workspace (no symbolic link a command left could lead a write elsewhere)."""
        probe = (self.root / relative).parent
        while not probe.exists() and not probe.is_symlink() and probe != self.root:
            probe = probe.parent
        try:
            return Path(os.path.realpath(probe)) == probe and probe.is_relative_to(self.root)
        except OSError:
            return False

    def _put_back(self, relative: str, blob: Blob | None) -> None:
        path = self.root / relative
        if blob is None:
            path.unlink(missing_ok=True)
            return
        data = self._bytes(blob) or b""
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink() or (blob.mode == _SYMLINK and path.exists()):
            path.unlink()
        if blob.mode == _SYMLINK:
            os.symlink(data.decode("utf-8", "surrogateescape"), path)
            return
        path.write_bytes(data)
        mode = path.stat().st_mode & 0o7777
        path.chmod(mode | 0o111 if blob.mode == _EXEC else mode & ~0o111)
