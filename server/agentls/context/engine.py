"""The context engine: the workspace index, open documents laid over it, and selection.

One object per workspace folder. ``build`` (blocking: run it off the event loop)
brings the persisted index up to date; ``open``/``change``/``close`` keep the
editor's unsaved buffers as the truth; ``select`` answers which code a task at a
position should see, under a token budget. Nothing here imports pygls.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from agentls.context.files import WorkspaceFiles, local_path
from agentls.context.imports import ModuleMap
from agentls.context.index import IndexStats, WorkspaceIndex, read_source
from agentls.context.languages import language_for
from agentls.context.live import LiveTags
from agentls.context.regular import read_regular
from agentls.context.select import Here, Selection, Selector
from agentls.context.tags import FileTags, tag_source
from agentls.context.trees import ParsedDocument
from agentls.edits.text import TextChange
from agentls.model.tokens import count_tokens
from agentls.policy.secrets import SecretMatcher

log = logging.getLogger(__name__)

_LINE_CACHE = 256  # files whose lines are kept
_RECENT = 16  # recently edited places remembered
_TASK_FILE_BYTES = 4 << 20  # the file a task is about, read from the disk, at most


_CLEAN = (-1, -1)  # no change yet


def _widen(span: tuple[int, int], change: TextChange) -> tuple[int, int]:
    """``span`` (in the text before ``change``) moved through it and widened to hold it."""
    inserted = (change.start, change.start + len(change.new_text))
    if span == _CLEAN:
        return inserted

    def moved(at: int, end_side: bool) -> int:
        if at <= change.start:
            return at
        if at >= change.end:
            return at + change.delta
        return inserted[1] if end_side else inserted[0]

    return min(moved(span[0], False), inserted[0]), max(moved(span[1], True), inserted[1])


class ContextEngine:
    def __init__(
        self,
        root: Path,
        cache_dir: Path | None = None,
        *,
        secret_patterns: Iterable[str] = (),
        workers: int | None = None,
        trees: Callable[[str], ParsedDocument | None] | None = None,
    ) -> None:
        self.root = Path(root).resolve()
        self.files = WorkspaceFiles(self.root, SecretMatcher(secret_patterns))
        self.index = WorkspaceIndex(self.root, cache_dir, self.files, workers)
        self.lock = threading.RLock()  # build() runs in a thread; selections in others
        self.buffers: dict[str, tuple[int, str]] = {}  # open documents: path -> (version, text)
        self.uris: dict[str, str] = {}  # open documents: path -> the editor's URI
        # The editor's current syntax tree of a document (by URI), when the server keeps
        # one: open documents are then re-tagged from it, only where they changed.
        self.trees = trees
        self._live: dict[str, LiveTags] = {}
        # Per open document, the code points changed since its last re-tagging (in its
        # current text); None: unknown, so the next re-tagging looks at everything.
        self._dirty: dict[str, tuple[int, int] | None] = {}
        self._overlaid: dict[str, int] = {}  # path -> version whose tags the index holds
        self._lines: OrderedDict[str, tuple[object, list[str]]] = OrderedDict()
        self._modules: ModuleMap | None = None
        self.recent: deque[tuple[str, int]] = deque(maxlen=_RECENT)

    # -- the index ----------------------------------------------------------------------
    def build(self, progress: Callable[[int, int], None] | None = None) -> IndexStats:
        # The tokenizer loads (~0.4 s) while the workers tag: the main process mostly waits.
        tokenizer = threading.Thread(target=count_tokens, args=("warm up",), daemon=True)
        tokenizer.start()
        stats = self.index.build(progress)
        modules = ModuleMap(self.index.tags)
        self.index.by_name  # noqa: B018 - built now, not in the first selection
        tokenizer.join()
        with self.lock:
            self._modules = modules
            self._overlaid.clear()
        return stats

    def file_changed(self, path: str) -> None:
        """A file changed on disk (saved, or changed outside the editor)."""
        relative = self.relative(path)
        if relative is None or relative in self.buffers:
            return
        with self.lock:
            known = relative in self.index.tags
            self.index.update(relative)
            self._lines.pop(relative, None)
            self._forget_popular()
            if known != (relative in self.index.tags):
                self._modules = None

    def file_deleted(self, path: str) -> None:
        relative = self.relative(path)
        if relative is None:
            return
        with self.lock:
            self.index.remove(relative)
            self._lines.pop(relative, None)
            self._modules = None

    # -- open documents -----------------------------------------------------------------
    def open(self, path: str, version: int, text: str) -> None:
        relative = self.relative(path)
        if relative is not None:
            self.buffers[relative] = (version, text)
            self.uris[relative] = str(path)

    def change(
        self,
        path: str,
        version: int,
        text: str,
        lines: Iterable[int] = (),
        changes: Sequence[TextChange] | None = None,
    ) -> None:
        """The editor changed an open document. ``changes`` (in order, each against the
        text the previous left) let the next re-tagging look only where they are."""
        relative = self.relative(path)
        if relative is None:
            return
        self.buffers[relative] = (version, text)
        for line in lines:
            self.recent.appendleft((relative, line))
        if changes is None or not changes:
            self._dirty[relative] = None  # unknown: the next re-tagging is a full one
            return
        span = self._dirty.get(relative, _CLEAN)
        if span is None:  # unknown already
            return
        for change in changes:
            span = _widen(span, change)
        self._dirty[relative] = span

    def close(self, path: str) -> None:
        relative = self.relative(path)
        if relative is None or self.buffers.pop(relative, None) is None:
            return
        self.uris.pop(relative, None)
        with self.lock:
            self._overlaid.pop(relative, None)
            self._live.pop(relative, None)
            self._dirty.pop(relative, None)
            self._lines.pop(relative, None)
            self.index.update(relative)  # back to what the disk holds
            self._forget_popular()

    def _forget_popular(self) -> None:
        """A file's words changed: what the workspace uses most from a module
        (``rank.py``) counted the old ones. Forgotten, or the ranking would depend on
        what the buffers held before (a selection differing between processes)."""
        if self._modules is not None:
            self._modules.popular.clear()

    def _sync_buffers(self) -> None:
        """Lay the open documents' current text over the index (re-tag what changed)."""
        for path in list(self.buffers):
            self._sync(path)

    def _sync(self, path: str) -> FileTags | None:
        buffer = self.buffers.get(path)
        if buffer is None or not self.files.allowed(path):
            return None
        version, text = buffer
        if self._overlaid.get(path) == version:
            return self.index.tags.get(path)
        lang = language_for(path)
        if lang is None:
            return None
        parsed = self.trees(self.uris[path]) if self.trees is not None else None
        if parsed is not None and parsed.version == version and parsed.text == text:
            live = self._live.get(path)
            if live is None or live.language is not parsed.language:
                live = self._live[path] = LiveTags(parsed.language)
            span = self._dirty.pop(path, None)
            dirty = None
            # (a segmented document is re-tagged by segment: no span needed, and none
            # converted to bytes, which costs O(document) for non-ASCII text)
            if span is not None and span is not _CLEAN and len(parsed.trees) == 1:
                dirty = (parsed.byte_offset(span[0]), parsed.byte_offset(span[1]))
            tags = live.update(parsed, parsed.data, dirty)
        else:
            tags = tag_source(lang, text.encode("utf-8", "surrogatepass"))
        before = self.index.tags.get(path)
        self.index._replace(path, tags)
        if before is None or (before.names, before.definitions) != (tags.names, tags.definitions):
            self._forget_popular()
        self._overlaid[path] = version
        self._lines.pop(path, None)
        if self._modules is not None and path not in self._modules.paths:
            self._modules = None
        return tags

    def refresh(self, path: str) -> FileTags | None:
        """The tags of an open document's current text, brought up to date now."""
        relative = self.relative(path)
        if relative is None:
            return None
        with self.lock:
            return self._sync(relative)

    # -- selection ----------------------------------------------------------------------
    def relative(self, path: str | Path) -> str | None:
        text = local_path(str(path))
        return self.files.relative(text) if text is not None else None

    def _disk_text(self, relative: str) -> str | None:
        """A workspace file's text on the disk, read as the index reads it: a regular
        file reached through no link (a command may have swapped an indexed file for a
        link to outside the workspace), text, within the size cap; else None."""
        read = read_source(str(self.root), relative)
        return read[0].decode("utf-8", errors="replace") if read is not None else None

    def lines_of(self, path: str) -> list[str] | None:
        buffer = self.buffers.get(path)
        if buffer is not None:
            stamp: object = ("buffer", buffer[0])
        else:
            try:
                st = os.stat(self.root / path, follow_symlinks=False)
            except OSError:
                return None
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino, st.st_mode)
        cached = self._lines.get(path)
        if cached is not None and cached[0] == stamp:
            self._lines.move_to_end(path)
            return cached[1]
        if buffer is not None:
            text = buffer[1]
        else:
            found = self._disk_text(path)
            if found is None:
                return None
            text = found
        lines = text.split("\n")
        self._lines[path] = (stamp, lines)
        if len(self._lines) > _LINE_CACHE:
            self._lines.popitem(last=False)
        return lines

    def _task_file_text(self, relative: str | None, shown: str) -> str:
        """The text of the file a task is about, from the disk, if it is a regular file
        within the cap: a workspace file reached through no link; a file outside the
        workspace (the editor named it) wherever its links lead."""
        if relative is not None:
            root, name = str(self.root), relative
        else:
            root, name = "/", os.path.realpath(self.root / shown)
        try:
            data, _ = read_regular(root, name, _TASK_FILE_BYTES)
        except OSError:
            return ""
        return data.decode("utf-8", errors="replace")

    def select(
        self, path: str, line: int, column: int, budget: int, text: str | None = None
    ) -> Selection:
        """The context for a task at ``path:line:column`` (0-based), ``budget`` tokens.

        ``text`` is the file's text as the editor has it, when it differs from both
        the disk and the open buffer (tools and benchmarks pass it)."""
        relative = self.relative(path)
        shown = relative if relative is not None else str(path)
        if relative is not None and not self.files.allowed(relative):
            return Selection([], budget)  # a secret or ignored file: nothing from it
        lang = language_for(shown)
        if text is None:
            buffer = self.buffers.get(relative) if relative else None
            if buffer is not None:
                text = buffer[1]
            else:
                text = self._task_file_text(relative, shown)
        with self.lock:
            self._sync_buffers()
            buffer = self.buffers.get(relative) if relative else None
            if buffer is not None and buffer[1] is text and relative in self._overlaid:
                tags = self.index.tags.get(relative) or FileTags("", (), (), frozenset())
            elif lang is not None:
                tags = tag_source(lang, text.encode("utf-8", "surrogatepass"))
            else:
                tags = FileTags("", (), (), frozenset())
            if self._modules is None:
                self._modules = ModuleMap(self.index.tags)
            lines = text.split("\n")
            if len(lines) > 1 and lines[-1] == "":  # the end of the last line, not a line
                lines.pop()
            here = Here(
                shown,
                lang.name if lang else "",
                lines,
                tags,
                min(max(line, 0), max(len(lines) - 1, 0)),
                tuple(self.recent),
                text,
            )
            return Selector(self.index, self._modules, self.lines_of).select(here, budget)
