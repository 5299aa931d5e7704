"""Which files of a workspace the context engine may look at.

A walk of the workspace that honours every ``.gitignore`` on the way down (and
``.git/info/exclude``), ``.agentlsignore`` files (same syntax), the secret patterns
and a few folders nobody wants indexed (VCS internals, virtualenvs, caches).
``WorkspaceFiles.allowed`` answers the same question for a single path, so a file
reported by the editor is judged by the same rules as one found by the walk.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import pathspec

from agentls.context.languages import language_for
from agentls.context.regular import Skipped, read_regular_text
from agentls.policy.secrets import SecretMatcher

log = logging.getLogger(__name__)

IGNORE_FILES = (".gitignore", ".agentlsignore")
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".hypothesis",
        ".venv",
        ".agentls",
    }
)
_TEST_FILE = re.compile(
    r"(^|/)(test_[^/]*|[^/]*_test\.[a-z]+|[^/]*\.(test|spec)\.[a-z]+|[^/]*Tests?\.java)$"
)


def local_path(uri_or_path: str) -> str | None:
    """A ``file://`` URI or a plain path, as a path; None for another scheme (``untitled:``)."""
    parsed = urlparse(uri_or_path)
    if parsed.scheme == "file":
        return unquote(parsed.path)
    return uri_or_path if parsed.scheme == "" else None


def git_root(folder: Path) -> Path | None:
    """The nearest folder at or above ``folder`` that holds a ``.git``."""
    return next((f for f in [folder, *folder.parents] if (f / ".git").exists()), None)


def is_test_path(path: str) -> bool:
    """Named like a test: test_x.py, x_test.go, x.test.ts, x.spec.js, XTest.java."""
    return _TEST_FILE.search(path) is not None


MAX_FILE_BYTES = 1 << 20  # bigger source files are generated, not written
MAX_FILES = 200_000  # a workspace bigger than this is indexed in part (and the log says so)
MAX_IGNORE_BYTES = 1 << 20  # an ignore file bigger than this is skipped (and the log says so)


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: str  # relative to the root, with "/"
    language: str
    mtime_ns: int
    size: int


class WorkspaceFiles:
    def __init__(self, root: Path, secrets: SecretMatcher | None = None) -> None:
        self.root = root.resolve()
        self.secrets = secrets or SecretMatcher()
        self._specs: dict[str, pathspec.GitIgnoreSpec | None] = {}

    def _spec(self, folder: str) -> pathspec.GitIgnoreSpec | None:
        """The ignore rules written in ``folder`` (relative, "" for the root). Only a
        regular file is read (``regular.read_regular``): an ignore file that is a link,
        a fifo or a device, or is over the cap, is skipped and the log says so."""
        if folder in self._specs:
            return self._specs[folder]
        lines: list[str] = []
        names = [*IGNORE_FILES, ".git/info/exclude"] if folder == "" else IGNORE_FILES
        for name in names:
            relative = f"{folder}/{name}" if folder else name
            try:
                lines += read_regular_text(self.root, relative, MAX_IGNORE_BYTES).splitlines()
            except Skipped as skipped:
                log.warning("%s: ignore file skipped: %s", self.root, skipped)
            except OSError:
                pass
        spec = pathspec.GitIgnoreSpec.from_lines(lines) if lines else None
        self._specs[folder] = spec
        return spec

    def _ignored(self, relative: str, is_dir: bool) -> bool:
        """Ignored by the rules of any folder above it (the deepest one that decides wins)."""
        parts = relative.split("/")
        verdict = False
        for depth in range(len(parts)):
            folder = "/".join(parts[:depth])
            spec = self._spec(folder)
            if spec is None:
                continue
            rest = "/".join(parts[depth:]) + ("/" if is_dir else "")
            result = spec.check_file(rest)
            if result.include is not None:
                verdict = result.include
        return verdict

    def _skipped_dir(self, relative: str, name: str) -> bool:
        if name in SKIP_DIRS or name.endswith(".egg-info"):
            return True
        if (self.root / relative / "pyvenv.cfg").exists():  # any virtualenv
            return True
        return self.secrets.is_secret(relative, is_dir=True) or self._ignored(relative, True)

    def allowed(self, relative: str) -> bool:
        """May the engine read this file (relative path)? Secrets and ignored files: no."""
        parts = relative.split("/")
        if any(part in SKIP_DIRS or part == ".." for part in parts[:-1]):
            return False
        for depth in range(1, len(parts)):
            if self.secrets.is_secret("/".join(parts[:depth]), is_dir=True):
                return False
        return not self.secrets.is_secret(relative) and not self._ignored(relative, False)

    def relative(self, path: str | Path) -> str | None:
        """The workspace-relative form of a path, or None if it lies outside."""
        try:
            resolved = Path(os.path.abspath(self.root / path))
            return resolved.relative_to(self.root).as_posix()
        except ValueError:
            return None

    def walk(self, folder: str = "", any_file: bool = False) -> Iterator[SourceFile]:
        """Every source file of a language we parse (``any_file``: every file), below
        ``folder`` (relative), in sorted order."""
        stack = [folder.strip("/")]
        count = 0
        while stack:
            folder = stack.pop()
            try:
                entries = sorted(os.scandir(self.root / folder), key=lambda e: e.name)
            except OSError:
                continue
            subdirs: list[str] = []
            for entry in entries:
                relative = f"{folder}/{entry.name}" if folder else entry.name
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if not self._skipped_dir(relative, entry.name):
                            subdirs.append(relative)
                        continue
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    lang = language_for(entry.name)
                    if lang is None and not any_file:
                        continue
                    # (its folders passed already: only the file's own name is judged)
                    if self.secrets.is_secret(relative) or self._ignored(relative, False):
                        continue
                    stat = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if any_file or stat.st_size <= MAX_FILE_BYTES:
                    count += 1
                    if count > MAX_FILES:
                        log.warning(
                            "%s: more than %d source files, indexing the first",
                            self.root,
                            MAX_FILES,
                        )
                        return
                    name = lang.name if lang else ""
                    yield SourceFile(relative, name, stat.st_mtime_ns, stat.st_size)
            stack.extend(reversed(subdirs))
