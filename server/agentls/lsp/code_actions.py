"""Code actions: cheap (no model call, no file I/O), built from the request alone."""

from __future__ import annotations

from typing import Any

from lsprotocol import types

from agentls.agent.tasks import TaskRegistry
from agentls.context.instructions import find_instruction
from agentls.context.languages import comment_markers, language_for
from agentls.edits.documents import DocumentStore
from agentls.edits.text import Encoding
from agentls.lsp.convert import offset

MAX_LINES = 400  # lines of a selection scanned for instruction comments


def _run(
    title: str,
    kind: str,
    arguments: dict[str, Any],
    diagnostics: list[types.Diagnostic] | None = None,
) -> types.CodeAction:
    return types.CodeAction(
        title=title,
        kind=kind,
        diagnostics=diagnostics,
        command=types.Command(title=title, command="agentls.run", arguments=[arguments]),
    )


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def code_actions(
    store: DocumentStore, tasks: TaskRegistry, params: types.CodeActionParams, encoding: Encoding
) -> list[types.CodeAction]:
    uri = params.text_document.uri
    snapshot = store.get(uri)
    if snapshot is None:
        return []
    actions: list[types.CodeAction] = []
    rng = params.range
    index = snapshot.index
    markers = comment_markers(language_for(uri, snapshot.language_id))
    first = max(rng.start.line, 0)
    last = min(rng.end.line, first + MAX_LINES, index.line_count - 1)
    for line_no in range(first, last + 1):
        instruction = find_instruction(index.line_text(line_no), markers)
        if instruction is None:
            continue
        column = index.position(index.line_start(line_no) + instruction.column, encoding)
        at = {"line": line_no, "character": column.character}
        actions.append(
            _run(
                f"Agent: {_short(instruction.text)}",
                types.CodeActionKind.RefactorRewrite,
                {
                    "instruction": instruction.text,
                    "uri": uri,
                    "range": {"start": at, "end": at},
                    "mode": "edit",
                },
            )
        )
    for diagnostic in params.context.diagnostics or []:
        start = diagnostic.range.start
        at = {"line": start.line, "character": start.character}
        message = diagnostic.message.strip()
        source = f" ({diagnostic.source})" if diagnostic.source else ""
        actions.append(
            _run(
                f"Fix with agent: {_short(message)}",
                types.CodeActionKind.QuickFix,
                {
                    "instruction": f"Fix this problem reported on line {start.line + 1}{source}: "
                    f"{message}",
                    "uri": uri,
                    "range": {"start": at, "end": at},
                    "mode": "edit",
                },
                [diagnostic],
            )
        )
    if (rng.start.line, rng.start.character) != (rng.end.line, rng.end.character):
        actions.append(
            types.CodeAction(
                title="Agent: edit selection…",
                kind=types.CodeActionKind.RefactorRewrite,
                command=types.Command(
                    title="Agent: edit selection…",
                    command="agentls.run",
                    arguments=[{"uri": uri, "range": _range_json(rng), "mode": "edit"}],
                ),
            )
        )
    lo, hi = offset(snapshot, rng.start, encoding), offset(snapshot, rng.end, encoding)
    for task in tasks.tasks.values():
        anchor = task.anchor
        if task.uri != uri or task.undo is None or anchor is None:
            continue
        if anchor.start <= hi and lo <= anchor.end:
            for title, command in (
                ("Accept agent edit", "agentls.accept"),
                ("Undo agent edit", "agentls.undo"),
            ):
                actions.append(
                    types.CodeAction(
                        title=title,
                        kind=types.CodeActionKind.Refactor,
                        command=types.Command(
                            title=title, command=command, arguments=[{"taskId": task.id}]
                        ),
                    )
                )
    return actions


def _range_json(rng: types.Range) -> dict[str, Any]:
    return {
        "start": {"line": rng.start.line, "character": rng.start.character},
        "end": {"line": rng.end.line, "character": rng.end.character},
    }
