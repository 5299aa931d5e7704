"""Tasks of the history benchmark, mined from a repository's own git history.

A task is a commit (one parent, not a merge) that modifies exactly one non-test source
file, and in it only the body of one named function (every hunk of ``git diff -U0``
inside the same function, below its signature, in the parent and in the commit). The
gold set: the definitions (function, method, class, type) of *other* non-test source
files of the parent tree whose names the commit's added lines use. A name defined in
several files counts only when exactly one of them is a file the changed file imports
(for Go also its own package); otherwise it is ambiguous and left out. Names the
changed file defines itself do not count.

Reads the bare git directory only (``git log``, ``git diff``, ``git cat-file``): no
work tree, no network. Results are cached per repository and HEAD commit.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.context import history_lang as hl
from benchmarks.context.history_resolve import TreeView, is_source

VERSION = 6  # of the extraction: bump to invalidate cached tasks
MAX_TASKS = 30  # per repository, newest first
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def git(gitdir: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(gitdir), *args],
        check=True,
        capture_output=True,
        text=True,
        errors="replace",
    ).stdout


class Blobs:
    """File contents by blob id (``git cat-file --batch``), cached."""

    def __init__(self, gitdir: Path) -> None:
        self.proc = subprocess.Popen(
            ["git", "--git-dir", str(gitdir), "cat-file", "--batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.cache: dict[str, bytes] = {}
        self.defs: dict[str, list[hl.Definition]] = {}

    def read(self, sha: str) -> bytes:
        data = self.cache.get(sha)
        if data is None:
            assert self.proc.stdin is not None and self.proc.stdout is not None
            self.proc.stdin.write(sha.encode() + b"\n")
            self.proc.stdin.flush()
            header = self.proc.stdout.readline().split()
            size = int(header[2]) if len(header) == 3 else 0
            data = self.proc.stdout.read(size) if size else b""
            self.proc.stdout.read(1)
            self.cache[sha] = data
        return data

    def definitions(self, sha: str, lang: str) -> list[hl.Definition]:
        defs = self.defs.get(sha)
        if defs is None:
            defs = self.defs[sha] = hl.definitions(lang, self.read(sha))
        return defs

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait()


def tree_files(gitdir: Path, commit: str) -> dict[str, str]:
    """path -> blob id of every file of ``commit``'s tree."""
    out = {}
    for line in git(gitdir, "ls-tree", "-r", commit).splitlines():
        meta, _, path = line.partition("\t")
        mode, kind, sha = meta.split()
        if kind == "blob" and mode != "120000":
            out[path] = sha
    return out


# -- tasks ---------------------------------------------------------------------------


@dataclass
class Task:
    id: str
    repo: str
    commit: str
    parent: str
    subject: str
    path: str
    function: str  # Owner.name or name
    line: int  # cursor, 0-based, in the parent's file: the first changed line
    column: int
    added: int  # added lines in the function
    gold: list[dict[str, str]] = field(default_factory=list)  # {"path", "name"}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _hunks(diff: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]], set[int]]:
    """Old-side and new-side row ranges (0-based, [start, end)) of every hunk, and the
    new-side rows of added lines. A pure insertion's old range is empty at the row
    after which it inserts."""
    old, new, added = [], [], set()
    row = 0
    for line in diff.splitlines():
        m = _HUNK.match(line)
        if m:
            a, b = int(m.group(1)), int(m.group(2) or "1")
            c, d = int(m.group(3)), int(m.group(4) or "1")
            old.append((a - 1, a - 1 + b) if b else (a, a))
            new.append((c - 1, c - 1 + d) if d else (c, c))
            row = c - 1
        elif line.startswith("+") and not line.startswith("+++") and new:
            added.add(row)
            row += 1
    return old, new, added


def _enclosing(defs: list[hl.Definition], ranges: list[tuple[int, int]]) -> hl.Definition | None:
    """The innermost function whose body (below its signature) holds every range."""
    best = None
    for d in defs:
        if d.kind != "function" or d.inner_row < 0:
            continue
        if all(d.inner_row <= s and max(s, e - 1) <= d.end_row for s, e in ranges):
            if best is None or d.row >= best.row:
                best = d
    return best


def _qualified(d: hl.Definition) -> str:
    return f"{d.owner}.{d.name}" if d.owner else d.name


def _commits(gitdir: Path) -> list[tuple[str, str, str, list[tuple[str, str]]]]:
    """(commit, parent, subject, [(status, path)]) of every non-merge commit, newest first."""
    out: list[tuple[str, str, str, list[tuple[str, str]]]] = []
    log = git(
        gitdir,
        "log",
        "--no-merges",
        "--no-renames",
        "--format=@%H %P%x09%s",
        "--name-status",
        "HEAD",
    )
    for line in log.splitlines():
        if line.startswith("@"):
            head, _, subject = line[1:].partition("\t")
            shas = head.split()
            if len(shas) == 2:
                out.append((shas[0], shas[1], subject, []))
            else:
                out.append(("", "", "", []))  # a root commit: skipped
        elif line.strip() and out:
            status, _, path = line.partition("\t")
            out[-1][3].append((status[:1], path))
    return [c for c in out if c[0]]


def _task_of(
    gitdir: Path, repo: str, blobs: Blobs, commit: str, parent: str, subject: str, path: str
) -> Task | None:
    lang = hl.language_of(path)
    assert lang is not None
    family = hl.FAMILY[lang]
    diff = git(gitdir, "diff", "-U0", "--no-color", parent, commit, "--", path)
    old_ranges, new_ranges, added = _hunks(diff)
    if not added:
        return None
    before = git(gitdir, "rev-parse", f"{parent}:{path}").strip()
    after = git(gitdir, "rev-parse", f"{commit}:{path}").strip()
    old_fn = _enclosing(blobs.definitions(before, lang), old_ranges)
    new_fn = _enclosing(blobs.definitions(after, lang), new_ranges)
    if old_fn is None or new_fn is None or _qualified(old_fn) != _qualified(new_fn):
        return None
    own = {d.name for d in blobs.definitions(before, lang)}
    own |= {d.name for d in blobs.definitions(after, lang)}
    after_data = blobs.read(after)
    uses = hl.uses_on_rows(lang, after_data, added, new_fn.row, new_fn.end_row)
    view = TreeView(tree_files(gitdir, parent), family, blobs.read, blobs.definitions)
    gold: list[dict[str, str]] = []
    for use in uses:
        found = view.gold_of(path, use, own, blobs.read(before))
        if found is not None and {"path": found[0], "name": found[1]} not in gold:
            gold.append({"path": found[0], "name": found[1]})
    if not gold:
        return None
    first = min(s for s, _ in old_ranges)
    line = min(max(first, old_fn.inner_row), old_fn.end_row)
    text = blobs.read(before).split(b"\n")
    column = len(text[line]) - len(text[line].lstrip()) if line < len(text) else 0
    return Task(
        f"{repo}@{commit[:10]}",
        repo,
        commit,
        parent,
        subject[:120],
        path,
        _qualified(old_fn),
        line,
        column,
        len(added),
        gold,
    )


def extract(gitdir: Path, repo: str, cache: Path, limit: int = MAX_TASKS) -> list[Task]:
    """The repository's tasks, newest first, at most ``limit`` (cached)."""
    head = git(gitdir, "rev-parse", "HEAD").strip()
    path = cache / f"tasks-{repo.replace('/', '+')}-{head[:12]}-v{VERSION}-n{limit}.json"
    if path.exists():
        return [Task(**t) for t in json.loads(path.read_text())]
    blobs = Blobs(gitdir)
    tasks: list[Task] = []
    try:
        for commit, parent, subject, changes in _commits(gitdir):
            sources = [
                (s, p)
                for s, p in changes
                if (lang := hl.language_of(p)) and is_source(p, hl.FAMILY[lang])
            ]
            if len(sources) != 1 or sources[0][0] != "M":
                continue
            task = _task_of(gitdir, repo, blobs, commit, parent, subject, sources[0][1])
            if task is not None:
                tasks.append(task)
                if len(tasks) >= limit:
                    break
    finally:
        blobs.close()
    cache.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([t.to_dict() for t in tasks], indent=1))
    return tasks
