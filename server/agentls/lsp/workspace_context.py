"""The context engines of the server's workspace folders, fed by the editor.

One ``ContextEngine`` per workspace folder (a document outside every folder gets
one rooted at its git root). The first build runs in a thread, with ``$/progress``
when the client supports it, and never blocks a request: until it is done a
selection sees only the open documents. Document events keep the engines current;
saved and watched files are re-tagged from disk.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from lsprotocol import types

from agentls.config import Settings
from agentls.context.engine import ContextEngine
from agentls.context.files import git_root, local_path
from agentls.context.languages import LANGUAGES
from agentls.context.select import Selection
from agentls.context.trees import DocumentTrees
from agentls.edits.documents import Snapshot
from agentls.edits.text import TextChange
from agentls.lsp.progress import ProgressClient, TaskProgress

log = logging.getLogger(__name__)


def uri_to_path(uri: str) -> Path | None:
    path = local_path(uri)
    return Path(path) if path is not None else None


TAG_DELAY = 0.5  # seconds after didOpen: a newly opened document is tagged in a thread


def _too_wide(root: Path) -> bool:
    """A home folder or the file system's root is no project: never index it whole."""
    return root == Path(root.anchor) or root == Path.home().resolve()


class ContextClient(ProgressClient, Protocol):
    """What the workspace context needs of the server: settings, the open documents'
    trees, the client's capabilities and file-watch registration, progress."""

    settings: Settings
    trees: DocumentTrees

    @property
    def client_capabilities(self) -> types.ClientCapabilities: ...

    async def client_register_capability_async(self, params: types.RegistrationParams) -> None: ...


class WorkspaceContext:
    def __init__(self, server: ContextClient) -> None:
        self.server = server
        self.engines: dict[Path, ContextEngine] = {}
        self.builds: dict[Path, asyncio.Future[object]] = {}
        self.watcher: asyncio.Future[None] | None = None  # the file-watch registration
        self.pending: set[asyncio.Future[Any]] = set()  # background tagging of documents

    # -- folders ------------------------------------------------------------------------
    def add_folders(self, params: types.InitializeParams) -> None:
        uris = [f.uri for f in params.workspace_folders or []]
        if not uris and params.root_uri:
            uris = [params.root_uri]
        if not uris and params.root_path:
            uris = [Path(params.root_path).as_uri()]
        for uri in uris:
            path = uri_to_path(uri)
            if path is not None and path.is_dir() and not _too_wide(path.resolve()):
                self._engine(path.resolve())

    def _engine(self, root: Path) -> ContextEngine:
        engine = self.engines.get(root)
        if engine is None:
            patterns = self.server.settings.context.secret_patterns
            engine = ContextEngine(
                root, None, secret_patterns=patterns, trees=self.server.trees.current
            )
            self.engines[root] = engine
        return engine

    def first_engine(self) -> ContextEngine | None:
        """The first workspace folder's engine (a task with no document)."""
        return next(iter(self.engines.values()), None)

    def engine_for(self, uri: str) -> ContextEngine | None:
        path = uri_to_path(uri)
        if path is None:
            return None
        path = Path(os.path.abspath(path))
        roots = [root for root in self.engines if path.is_relative_to(root)]
        if roots:
            return self.engines[max(roots, key=lambda r: len(r.parts))]
        root = git_root(path.parent)
        return self._engine(root if root is not None and not _too_wide(root) else path.parent)

    async def watch_files(self) -> None:
        """Ask the editor to report source files changed outside it (when it can)."""
        workspace = self.server.client_capabilities.workspace
        watched = workspace.did_change_watched_files if workspace else None
        if not (watched and watched.dynamic_registration) or not self.engines:
            return
        extensions = sorted(
            {ext.lstrip(".") for lang in LANGUAGES.values() for ext in lang.extensions}
        )
        glob = "**/*.{" + ",".join(extensions) + "}"
        registration = types.Registration(
            id="agentls-watched-files",
            method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=types.DidChangeWatchedFilesRegistrationOptions(
                watchers=[types.FileSystemWatcher(glob_pattern=glob)]
            ),
        )
        try:
            await self.server.client_register_capability_async(
                types.RegistrationParams(registrations=[registration])
            )
        except Exception as error:  # the index still follows saves and restarts
            log.info("file watching not registered: %s", error)

    # -- building -----------------------------------------------------------------------
    def start_builds(self) -> None:
        for root, engine in self.engines.items():
            if root not in self.builds:
                self.builds[root] = asyncio.ensure_future(self._build(engine))

    async def _build(self, engine: ContextEngine) -> object:
        progress = await TaskProgress.start(
            self.server, "agentls: indexing the workspace", None, lambda: None
        )
        loop = asyncio.get_running_loop()

        def report(done: int, total: int) -> None:
            loop.call_soon_threadsafe(progress.report, f"{done}/{total} files")

        try:
            stats = await asyncio.to_thread(engine.build, report)
        except Exception as error:  # the editor keeps working without an index
            log.exception("indexing %s failed", engine.root)
            progress.end(f"indexing failed: {error}")
            return None
        log.info(
            "indexed %s: %d files, %d definitions, %d parsed, %.2f s",
            engine.root,
            stats.files,
            stats.definitions,
            stats.parsed,
            stats.seconds,
        )
        progress.end(f"{stats.files} files, {stats.definitions} definitions")
        # The index is long-lived: out of the collector's sight, its objects cost no
        # pause when a full collection runs (they would while edits stream).
        gc.collect()
        gc.freeze()
        return stats

    async def ready(self, engine: ContextEngine, timeout: float) -> bool:
        """Wait (up to ``timeout``) for the engine's first build; False if still running."""
        build = self.builds.get(engine.root)
        if build is None:
            self.builds[engine.root] = build = asyncio.ensure_future(self._build(engine))
        if not build.done():
            await asyncio.wait([build], timeout=timeout)
        return build.done()

    # -- documents (a DocumentStore listener: quick, on the event loop) -----------------
    def opened(self, snapshot: Snapshot) -> None:
        engine = self.engine_for(snapshot.uri)
        if engine is not None:
            engine.open(snapshot.uri, snapshot.version, snapshot.text)
            self._tag_soon(engine, snapshot.uri)

    def _tag_soon(self, engine: ContextEngine, uri: str) -> None:
        """Tag a newly opened document in a thread shortly after, not when the first task
        needs it (a 10k-line file takes tens of milliseconds)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return

        def done(future: asyncio.Future[Any]) -> None:
            self.pending.discard(future)
            if not future.cancelled() and future.exception() is not None:
                log.warning("tagging %s failed: %s", uri, future.exception())

        def start() -> None:
            if uri in engine.uris.values():
                future = asyncio.ensure_future(asyncio.to_thread(engine.refresh, uri))
                self.pending.add(future)
                future.add_done_callback(done)

        loop.call_later(TAG_DELAY, start)

    def changed(self, before: Snapshot, after: Snapshot, changes: Sequence[TextChange]) -> None:
        engine = self.engine_for(after.uri)
        if engine is not None:
            lines = [after.index.line_of(c.start) for c in changes[:3]]
            engine.change(after.uri, after.version, after.text, lines, changes)

    def closed(self, uri: str) -> None:
        engine = self.engine_for(uri)
        if engine is not None:
            engine.close(uri)

    def files_changed(self, events: Sequence[types.FileEvent]) -> None:
        for event in events:
            engine = self.engine_for(event.uri)
            if engine is None:
                continue
            if event.type == types.FileChangeType.Deleted:
                engine.file_deleted(event.uri)
            else:
                engine.file_changed(event.uri)

    def related(self, snapshot: Snapshot, offset: int, budget: int) -> str:
        """Snippets of other files for a rewrite at ``offset`` (runs in a worker thread)."""
        engine = self.engine_for(snapshot.uri)
        if engine is None:
            return ""
        line = snapshot.text.count("\n", 0, offset)
        column = offset - (snapshot.text.rfind("\n", 0, offset) + 1)
        selection = engine.select(snapshot.uri, line, column, budget, snapshot.text)
        here = engine.relative(snapshot.uri)
        return "\n".join(s.render() for s in selection.snippets if s.path != here)

    async def select(
        self, uri: str, line: int, column: int, budget: int, wait: float = 10.0
    ) -> Selection | None:
        engine = self.engine_for(uri)
        if engine is None:
            return None
        await self.ready(engine, wait)
        return await asyncio.to_thread(engine.select, uri, line, column, budget)
