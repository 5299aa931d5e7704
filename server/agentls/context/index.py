"""The workspace index: the tags of every source file, persisted in SQLite.

``build`` walks the workspace (``files.WorkspaceFiles``), reloads what the cache
holds for files whose size and mtime did not change, tags the rest in worker
processes (both cores), writes them back in one transaction, and forgets files
that are gone. ``update`` and ``remove`` keep it current file by file; open
documents are laid over it by the engine (unsaved text is the truth).
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import os
import queue
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import NamedTuple

from agentls import __version__
from agentls.cache_dir import default_cache_dir
from agentls.context.files import MAX_FILE_BYTES, SourceFile, WorkspaceFiles
from agentls.context.languages import LANGUAGES, language_for
from agentls.context.regular import read_regular
from agentls.context.tags import Definition, FileTags, tag_source

log = logging.getLogger(__name__)

SCHEMA = 2  # 2: Go methods have their receiver's type as scope
_IN_PROCESS_BELOW = 48  # files: fewer than this are tagged without worker processes
_CHUNK = 24


def _fingerprint() -> str:
    """Changes whenever the queries, the grammars or agentls change: then re-tag all."""
    digest = hashlib.sha256(f"{SCHEMA} {__version__}".encode())
    queries = resources.files("agentls.context").joinpath("queries")
    for name in sorted(q.name for q in queries.iterdir() if q.name.endswith(".scm")):
        digest.update(name.encode() + queries.joinpath(name).read_bytes())
    for lang in sorted(LANGUAGES):
        module = LANGUAGES[lang].grammar.partition(":")[0]
        try:
            digest.update(f"{module}={metadata.version(module.replace('_', '-'))}".encode())
        except metadata.PackageNotFoundError:
            digest.update(module.encode())
    return digest.hexdigest()[:16]


def tags_to_row(tags: FileTags) -> str:
    return json.dumps(
        [
            tags.language,
            [[d.name, d.kind, d.start, d.end, d.header_end, d.scope] for d in tags.definitions],
            list(tags.imports),
            " ".join(sorted(tags.names)),
        ],
        separators=(",", ":"),
    )


def tags_from_row(row: str) -> FileTags:
    """The tags a row holds; names are interned: one string for a word in every file."""
    language, definitions, imports, names = json.loads(row)
    intern = sys.intern
    return FileTags(
        language,
        tuple(
            Definition(intern(name), intern(kind), start, end, header, intern(scope))
            for name, kind, start, end, header, scope in definitions
        ),
        tuple(imports),
        frozenset(map(intern, names.split())),
    )


def read_source(root: str, path: str) -> tuple[bytes, os.stat_result] | None:
    """A source file's bytes and stat, if it is a regular file in the workspace (no
    link, fifo or device: ``regular.read_regular``), of text, within the size cap."""
    try:
        data, info = read_regular(root, path, MAX_FILE_BYTES)
    except OSError:
        return None
    return None if b"\0" in data[:8192] else (data, info)


def tag_file(root: str, path: str, language: str) -> FileTags | None:
    read = read_source(root, path)
    return tag_source(LANGUAGES[language], read[0]) if read is not None else None


def tag_chunk(root: str, chunk: list[tuple[str, str]]) -> list[tuple[str, str | None]]:
    """Worker process: tag some files, answer rows (text is cheaper to send than objects)."""
    out: list[tuple[str, str | None]] = []
    for path, language in chunk:
        tags = tag_file(root, path, language)
        out.append((path, tags_to_row(tags) if tags is not None else None))
    return out


class _Workers:
    """Tagging worker processes (``agentls.context.worker``), fed chunks by one thread each."""

    def __init__(self, root: str, count: int) -> None:
        self.root = root
        self.processes = [
            subprocess.Popen(
                [sys.executable, "-m", "agentls.context.worker", root],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                encoding="utf-8",
            )
            for _ in range(count)
        ]

    def run(
        self,
        chunks: list[list[tuple[str, str]]],
        take: Callable[[list[tuple[str, str | None]]], None],
    ) -> None:
        work: queue.SimpleQueue[list[tuple[str, str]]] = queue.SimpleQueue()
        for chunk in chunks:
            work.put(chunk)

        def feed(worker: subprocess.Popen[str]) -> None:
            assert worker.stdin is not None and worker.stdout is not None
            try:
                while True:
                    try:
                        chunk = work.get_nowait()
                    except queue.Empty:
                        return
                    worker.stdin.write(json.dumps(chunk) + "\n")
                    worker.stdin.flush()
                    take(json.loads(worker.stdout.readline() or "[]"))
            except (OSError, ValueError):
                log.warning("a tagging worker failed; its files are tagged in-process")

        threads = [threading.Thread(target=feed, args=(p,)) for p in self.processes]
        for thread in threads:
            thread.start()
        # This process tags too: one worker fewer to start and to keep in memory.
        while True:
            try:
                chunk = work.get_nowait()
            except queue.Empty:
                break
            take(tag_chunk(self.root, chunk))
        for thread in threads:
            thread.join()
        self.close()

    def close(self) -> None:
        for process in self.processes:
            try:
                if process.stdin is not None:
                    process.stdin.close()
                process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                process.kill()
            if process.stdout is not None:
                process.stdout.close()


@dataclass(frozen=True)
class IndexStats:
    files: int
    definitions: int
    parsed: int  # files tagged in this build (the rest came from the cache)
    seconds: float


class Located(NamedTuple):
    path: str
    definition: Definition


class WorkspaceIndex:
    def __init__(
        self,
        root: Path,
        cache_dir: Path | None = None,
        files: WorkspaceFiles | None = None,
        workers: int | None = None,
    ) -> None:
        self.root = root.resolve()
        self.files = files or WorkspaceFiles(self.root)
        self.workers = workers or min(4, os.cpu_count() or 1)
        cache_dir = cache_dir or default_cache_dir()
        private_folder(cache_dir)
        key = hashlib.sha256(str(self.root).encode()).hexdigest()[:16]
        self.db_path = cache_dir / f"index-{key}.sqlite"
        self.tags: dict[str, FileTags] = {}
        self._by_name: dict[str, list[str]] | None = None
        self._file_names: dict[str, tuple[FileTags, dict[str, list[Definition]]]] = {}

    # -- persistence --------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        # The index holds every word of the source, secret-looking ones too: 0600, and
        # SQLite gives its -wal and -shm files the database file's mode.
        private_file(self.db_path)
        db = sqlite3.connect(self.db_path)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        db.execute(
            "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, mtime_ns INTEGER,"
            " size INTEGER, tags TEXT)"
        )
        found = db.execute("SELECT value FROM meta WHERE key='fingerprint'").fetchone()
        fingerprint = _fingerprint()
        if found is None or found[0] != fingerprint:
            db.execute("DELETE FROM files")
            db.execute("INSERT OR REPLACE INTO meta VALUES ('fingerprint', ?)", (fingerprint,))
            db.commit()
        return db

    def _load(self, db: sqlite3.Connection) -> dict[str, tuple[int, int, str]]:
        rows = db.execute("SELECT path, mtime_ns, size, tags FROM files")
        return {path: (mtime, size, tags) for path, mtime, size, tags in rows}

    # -- building -----------------------------------------------------------------------
    def build(self, progress: Callable[[int, int], None] | None = None) -> IndexStats:
        """Bring the index up to date with the disk; blocking (run it off the event loop)."""
        started = time.perf_counter()
        try:
            db = self._connect()
            cached = self._load(db)
        except sqlite3.DatabaseError as error:  # a broken cache is rebuilt, never fatal
            log.warning("index cache %s unreadable (%s): rebuilding", self.db_path, error)
            self.db_path.unlink(missing_ok=True)
            db = self._connect()
            cached = {}
        # A cold build surely needs the workers: start them now, they load while we walk.
        early = (
            _Workers(str(self.root), self.workers - 1) if not cached and self.workers > 1 else None
        )
        sources = list(self.files.walk())
        todo: list[SourceFile] = []
        tags: dict[str, FileTags] = {}
        for source in sources:
            row = cached.get(source.path)
            if row is not None and row[0] == source.mtime_ns and row[1] == source.size:
                try:
                    tags[source.path] = tags_from_row(row[2])
                    continue
                except (ValueError, TypeError):
                    pass
            todo.append(source)
        fresh = self._tag_all(todo, progress, early)
        tags.update({path: t for path, (t, _) in fresh.items()})
        with db:
            db.executemany(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)",
                [(s.path, s.mtime_ns, s.size, fresh[s.path][1]) for s in todo if s.path in fresh],
            )
            present = {s.path for s in sources}
            db.executemany(
                "DELETE FROM files WHERE path = ?", [(p,) for p in cached if p not in present]
            )
        db.close()
        self.tags = tags
        self._by_name = None
        self._file_names = {}
        return IndexStats(
            len(tags),
            sum(len(t.definitions) for t in tags.values()),
            len(fresh),
            time.perf_counter() - started,
        )

    def _tag_all(
        self,
        todo: list[SourceFile],
        progress: Callable[[int, int], None] | None,
        workers: _Workers | None = None,
    ) -> dict[str, tuple[FileTags, str]]:
        out: dict[str, tuple[FileTags, str]] = {}
        items = [(s.path, s.language) for s in todo]
        root = str(self.root)
        lock = threading.Lock()

        def take(rows: Iterable[tuple[str, str | None]]) -> None:
            with lock:
                for path, row in rows:
                    if row is not None:
                        out[path] = (tags_from_row(row), row)
                if progress:
                    progress(len(out), len(items))

        if len(items) < _IN_PROCESS_BELOW or self.workers < 2:
            if workers is not None:
                workers.close()
            for i in range(0, len(items), _CHUNK):
                take(tag_chunk(root, items[i : i + _CHUNK]))
            return out
        # Chunks dealt round-robin from the biggest file down are of even weight.
        sizes = {s.path: s.size for s in todo}
        items.sort(key=lambda item: (-sizes[item[0]], item[0]))
        count = len(items) // _CHUNK + 1
        chunks = [items[i::count] for i in range(count)]
        (workers or _Workers(root, self.workers - 1)).run(chunks, take)
        missing = [item for item in items if item[0] not in out]
        if missing:  # a worker died: tag the rest here
            take(tag_chunk(root, missing))
        return out

    # -- per-file updates ---------------------------------------------------------------
    def update(self, path: str) -> bool:
        """Re-tag one file from disk (after didSave / a watched-file event)."""
        language = _language(path)
        if language is None or not self.files.allowed(path):
            return self.remove(path)
        # Read as the walk finds files: a regular file, no link on the way (a command
        # may have swapped the file for a link to outside the workspace).
        read = read_source(str(self.root), path)
        if read is None:
            return self.remove(path)
        data, stat = read
        tags = tag_source(LANGUAGES[language], data)
        self._replace(path, tags)
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)",
                (path, stat.st_mtime_ns, stat.st_size, tags_to_row(tags)),
            )
        return True

    def remove(self, path: str) -> bool:
        known = path in self.tags
        self._replace(path, None)
        if known:
            with closing(self._connect()) as db, db:
                db.execute("DELETE FROM files WHERE path = ?", (path,))
        return known

    def _replace(self, path: str, tags: FileTags | None) -> None:
        """Put a file's new tags in place (None: the file is gone); O(names it changed)."""
        old = self.tags.pop(path, None)
        if tags is not None:
            self.tags[path] = tags
        self._file_names.pop(path, None)
        if self._by_name is None:
            return
        before = {d.name for d in old.definitions} if old is not None else set()
        after = {d.name for d in tags.definitions} if tags is not None else set()
        for name in before - after:
            paths = [p for p in self._by_name.get(name, ()) if p != path]
            if paths:
                self._by_name[name] = paths
            else:
                self._by_name.pop(name, None)
        for name in after - before:
            bisect.insort(self._by_name.setdefault(name, []), path)

    # -- queries ------------------------------------------------------------------------
    @property
    def by_name(self) -> dict[str, list[str]]:
        """Name -> the files that define it, sorted."""
        if self._by_name is None:
            table: dict[str, list[str]] = {}
            for path in sorted(self.tags):
                for name in dict.fromkeys(d.name for d in self.tags[path].definitions):
                    table.setdefault(name, []).append(path)
            self._by_name = table
        return self._by_name

    def _names_in(self, path: str) -> dict[str, list[Definition]]:
        tags = self.tags[path]
        known = self._file_names.get(path)
        if known is not None and known[0] is tags:
            return known[1]
        table: dict[str, list[Definition]] = {}
        for d in tags.definitions:
            table.setdefault(d.name, []).append(d)
        self._file_names[path] = (tags, table)
        return table

    def count(self, name: str) -> int:
        """How many definitions of ``name`` there are (without listing them)."""
        return sum(len(self._names_in(path).get(name, ())) for path in self.by_name.get(name, ()))

    def definitions(self, name: str) -> list[Located]:
        """Every definition of ``name``, by path and row."""
        return [
            Located(path, d)
            for path in self.by_name.get(name, ())
            for d in self._names_in(path).get(name, ())
        ]


def _language(path: str) -> str | None:
    lang = language_for(path)
    return lang.name if lang else None


def private_folder(folder: Path) -> None:
    """Make ``folder`` (and its parents) if need be; the folder itself 0700. An existing
    folder of this user that others may enter is tightened (the log says so)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        info = os.stat(folder)
        if info.st_uid == os.geteuid() and info.st_mode & 0o077:
            os.chmod(folder, 0o700)
            log.info("%s: cache folder made private (0700)", folder)
    except OSError as error:
        log.warning("%s: cannot make the cache folder private: %s", folder, error)


def private_file(path: Path) -> None:
    """Create ``path`` 0600 if missing; tighten it (and SQLite's -wal/-shm beside it)
    if others may read it."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600))
    except OSError as error:
        log.warning("%s: cannot create the cache file: %s", path, error)
        return
    for each in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            if os.lstat(each).st_mode & 0o077:
                os.chmod(each, 0o600)
        except OSError:
            pass
