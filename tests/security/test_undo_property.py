"""Property tests of the agent's checkpoint: random sequences of edit_file, write_file and
delete_file over a few files (some open in the editor with unsaved text, some not, one
not existing yet), through the real ``WriteTools`` and ``LspEditSink``, then
``undo``: every file is back as the user had it, in the editor and on the disk.

The harness is in-process: ``StandInEditor`` is the server object the sink talks to
(``store``, ``editor``, ``workspace_apply_edit_async``, ``client_capabilities``) and it
behaves like an editor (like tests/support/fake_editor.py): it keeps each buffer as a
``pygls`` ``TextDocument`` (an oracle independent of the server's position code),
checks versions, applies edits with UTF-16 positions, loads unopened files from disk,
runs CreateFile/DeleteFile on the disk, and reports each change to the server's
``DocumentStore`` as a ``didChange`` after it answers."""

# ruff: noqa: ASYNC240  (the stand-in editor touches the disk like an editor does: blocking is fine)

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from lsprotocol import types
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument

from agentls.config import Settings
from agentls.context.files import WorkspaceFiles
from agentls.edits.documents import DocumentStore
from agentls.lsp.edit_sink import LspEditSink
from agentls.lsp.editor import LspEditor
from agentls.tools.workspace import ToolDenied, Workspace
from agentls.tools.write import WriteTools

# path -> (disk text or None: no such file, unsaved buffer text or None: not open)
FILES: dict[str, tuple[str | None, str | None]] = {
    "open.py": ("def f():\n    return 1\n", "def f():\n    return 1  # unsaved é\n"),
    "open_same.py": ("x = '😀'\ny = 2\n", "x = '😀'\ny = 2\n"),
    "closed.py": ("import os\n\nprint(os.name)\n", None),
    "pkg/closed.txt": ("α\nβ\nγ\n", None),
    "new.py": (None, None),
}
PATHS = sorted(FILES)

text = st.text(alphabet=st.sampled_from(list("ab \n\t(){}=:é😀中")), min_size=0, max_size=30)
operation = st.one_of(
    st.tuples(st.just("edit"), st.sampled_from(PATHS), st.integers(0, 50), st.integers(1, 8), text),
    st.tuples(st.just("write"), st.sampled_from(PATHS), text),
    st.tuples(st.just("delete"), st.sampled_from(PATHS)),
)


class StandInEditor:
    """The server seen by ``LspEditSink`` plus the editor behind it."""

    def __init__(self, late: bool = False) -> None:
        """``late``: report each change after answering the edit (Neovim's debounced
        didChange), else before (VS Code)."""
        self.late = late
        self.store = DocumentStore()
        self.encoding = "utf-16"
        self.settings = Settings()
        self.editor = LspEditor(self, self.store)  # type: ignore[arg-type]
        operations = [types.ResourceOperationKind.Create, types.ResourceOperationKind.Delete]
        self.client_capabilities = types.ClientCapabilities(
            workspace=types.WorkspaceClientCapabilities(
                workspace_edit=types.WorkspaceEditClientCapabilities(
                    document_changes=True, resource_operations=operations
                )
            )
        )
        self.docs: dict[str, TextDocument] = {}

    def open(self, uri: str, text: str) -> None:
        self.docs[uri] = TextDocument(uri, text, version=0)
        self.store.open(uri, 0, text, "python")

    def text(self, uri: str) -> str | None:
        doc = self.docs.get(uri)
        return doc.source if doc is not None else None

    async def apply_edit(self, params: types.ApplyWorkspaceEditParams) -> Any:
        return await self.workspace_apply_edit_async(params)

    async def workspace_apply_edit_async(self, params: types.ApplyWorkspaceEditParams) -> Any:
        loop = asyncio.get_running_loop()
        for change in params.edit.document_changes or []:
            if isinstance(change, types.CreateFile):
                path = Path(to_fs_path(change.uri))
                if not path.exists():
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text("")
                continue
            if isinstance(change, types.DeleteFile):
                if change.uri in self.docs:
                    del self.docs[change.uri]
                    self.store.close(change.uri)
                Path(to_fs_path(change.uri)).unlink(missing_ok=True)
                continue
            assert isinstance(change, types.TextDocumentEdit)
            uri = change.text_document.uri
            if uri not in self.docs:  # an unopened file: loaded into a buffer
                self.open(uri, Path(to_fs_path(uri)).read_text(encoding="utf-8"))
            doc = self.docs[uri]
            version = change.text_document.version
            if version is not None and version != doc.version:
                return types.ApplyWorkspaceEditResult(applied=False, failure_reason="stale")
            edits = sorted(
                (e for e in change.edits if isinstance(e, types.TextEdit)),
                key=lambda e: (e.range.start.line, e.range.start.character),
                reverse=True,
            )
            for edit in edits:
                doc.apply_change(
                    types.TextDocumentContentChangePartial(range=edit.range, text=edit.new_text)
                )
            doc.version = (doc.version or 0) + 1
            # didChange (a full text: the store's position code is not the oracle here).
            if self.late:
                loop.call_soon(self.store.change, uri, doc.version, [doc.source])
            else:
                self.store.change(uri, doc.version, [doc.source])
        return types.ApplyWorkspaceEditResult(applied=True)


def make_root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="agentls-undo-"))
    for relative, (disk, _) in FILES.items():
        if disk is not None:
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_text(disk, encoding="utf-8")
    return root


async def apply_and_undo(
    root: Path, ops: list[tuple[Any, ...]], late: bool = False
) -> tuple[StandInEditor, int]:
    editor = StandInEditor(late)
    for relative, (_, buffer) in FILES.items():
        if buffer is not None:
            editor.open((root / relative).as_uri(), buffer)
    sink = LspEditSink(editor, root, "agentls: property")  # type: ignore[arg-type]
    ws = Workspace(WorkspaceFiles(root), buffers=sink.text_of)
    tools = WriteTools(ws, sink)
    done = 0
    for op in ops:
        try:
            if op[0] == "edit":
                _, relative, line, count, new = op
                current = sink.current(relative)
                if not current:
                    continue
                lines = current.splitlines(keepends=True)
                start = line % len(lines)
                old = "".join(lines[start : start + count])
                await tools.edit_file(relative, old, new, replace_all=True)
            elif op[0] == "write":
                await tools.write_file(op[1], op[2])
            else:
                await tools.delete_file(op[1])
            done += 1
        except ToolDenied:
            pass  # a refused call changes nothing
    await sink.undo()
    await asyncio.sleep(0)  # the last didChange
    return editor, done


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(operation, min_size=1, max_size=8))
# found in CI: the undo edit reported in another shape than sent was taken as "may be in it"
@example([("edit", "open.py", 0, 1, "\n"), ("edit", "open.py", 1, 1, "")])
def test_random_tool_calls_then_undo_give_back_every_file(ops: list[tuple[Any, ...]]) -> None:
    check(ops, late=False)


def test_delete_then_write_again_then_undo_restores_the_disk() -> None:
    check([("delete", "closed.py"), ("write", "closed.py", "new\n")], late=False)


def test_an_edit_reported_late_by_the_editor_can_be_undone() -> None:
    check([("edit", "closed.py", 0, 1, "")], late=True)


def check(ops: list[tuple[Any, ...]], late: bool) -> None:
    root = make_root()
    try:
        editor, _ = asyncio.run(apply_and_undo(root, ops, late))
        for relative, (disk, buffer) in FILES.items():
            path = root / relative
            uri = path.as_uri()
            on_disk = path.read_text(encoding="utf-8") if path.exists() else None
            seen = editor.text(uri)
            if buffer is not None and seen is not None:
                assert seen == buffer, (relative, "buffer")
            elif seen is not None:  # opened by the task's edit: the file's own text
                assert seen == disk, (relative, "buffer of an unopened file")
            if buffer is None or seen is not None:
                assert on_disk == disk, (relative, "disk")
            else:  # an open document the task deleted: back on disk as the user had it
                assert on_disk == buffer, (relative, "disk of a deleted open document")
    finally:
        shutil.rmtree(root, ignore_errors=True)
