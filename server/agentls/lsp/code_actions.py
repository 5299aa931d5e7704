"""Code actions: cheap (no model call, no file I/O), built from the request alone.

"Agent: edit selection…" runs ``agentls.run`` without an instruction: only a client that
asks the user for one before it sends the command can complete it. Such a client says
so with the experimental capability ``agentlsInstructionPrompt: true``; the VS Code
extension (which asks in its executeCommand middleware, client-vscode/src/tasks.ts) is
known by its ``agentlsDiagnostics`` capability. Other clients (Neovim, Emacs, Helix)
get "Agent: write an instruction for the selection" instead: an edit that puts an empty
``# agent: `` comment (in the file's comment syntax) above the selection; once the user
writes the instruction there, the comment's own action "Agent: <text>" runs it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tree_sitter
from lsprotocol import types

from agentls.agent.tasks import TaskRegistry
from agentls.context.files import local_path
from agentls.context.instructions import find_instruction, find_todo
from agentls.context.languages import comment_markers, language_for
from agentls.context.scope import ScopeFinder
from agentls.context.trees import DocumentTrees, ParsedDocument
from agentls.edits.documents import DocumentStore, Snapshot
from agentls.edits.text import Encoding
from agentls.lsp.convert import lsp_position, offset

MAX_LINES = 400  # lines of a selection scanned for instruction comments
PROMPT_CAPABILITIES = ("agentlsInstructionPrompt", "agentlsDiagnostics")  # experimental
# Line comments of languages without a grammar here, by LSP language id (else "#").
COMMENT_OF = {
    **dict.fromkeys(("lua", "sql", "haskell", "elm", "ada", "vhdl"), "--"),
    **dict.fromkeys(("lisp", "clojure", "scheme", "emacs-lisp", "racket", "ini"), ";"),
    **dict.fromkeys(("erlang", "latex", "tex", "matlab", "prolog"), "%"),
    **dict.fromkeys(("html", "xml", "markdown", "vue", "svelte"), "<!--"),
    **dict.fromkeys(("css", "scss", "less"), "/*"),
    **dict.fromkeys(
        ("kotlin", "swift", "csharp", "php", "scala", "dart", "zig", "groovy", "jsonc",
         "javascriptreact", "typescriptreact", "objective-c", "objective-cpp", "proto"),
        "//",
    ),
}  # fmt: skip
CLOSER = {"/*": " */", "<!--": " -->"}


def can_prompt(capabilities: types.ClientCapabilities) -> bool:
    """Whether the client asks the user for an instruction itself (see the module doc)."""
    experimental = capabilities.experimental
    if not isinstance(experimental, dict):
        return False
    return any(experimental.get(name) for name in PROMPT_CAPABILITIES)


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


def _definition_actions(
    snapshot: Snapshot, parsed: ParsedDocument, rng: types.Range, encoding: Encoding
) -> list[types.CodeAction]:
    """ "Agent: document" and "Agent: write tests" on the first line of a function or
    class (where its name is: the actions follow the cursor, not the whole body)."""
    index = snapshot.index
    line = max(rng.start.line, 0)
    if line >= index.line_count:
        return []
    finder = ScopeFinder(snapshot.text, parsed.language, parsed)
    node = finder.starting_at(index.line_start(line))
    if node is None:
        return []
    name_node = _name_of(node)
    if name_node is None:
        return []
    name = parsed.node_text(name_node)
    kind = "class" if "class" in node.type or "struct" in node.type else "function"
    start = parsed.char_offset(name_node.start_byte)
    at = lsp_position(index, start, encoding)
    here = {"line": at.line, "character": at.character}
    path = local_path(snapshot.uri) or snapshot.uri
    return [
        _run(
            f"Agent: document {name}",
            types.CodeActionKind.RefactorRewrite,
            {
                "instruction": f"Document the {kind} `{name}`: add a docstring (or this "
                "language's doc comment) that says what it does, its parameters, what it "
                "returns and what it raises. Change no code.",
                "uri": snapshot.uri,
                "range": {"start": here, "end": here},
                "mode": "edit",
            },
        ),
        _run(
            f"Agent: write tests for {name}",
            types.CodeActionKind.Refactor,
            {
                "instruction": f"Write tests for the {kind} `{name}` of {Path(path).name}: put "
                "them where this project keeps its tests, in their style; run them and fix "
                "what fails.",
                "uri": snapshot.uri,
                "position": here,
                "mode": "edit",
            },
        ),
    ]


def _name_of(node: tree_sitter.Node) -> tree_sitter.Node | None:
    """The name of a definition (looking inside decorators and export wrappers)."""
    for candidate in (node, *node.named_children):
        name = candidate.child_by_field_name("name")
        if name is not None:
            return name
    return None


def code_actions(
    store: DocumentStore,
    tasks: TaskRegistry,
    params: types.CodeActionParams,
    encoding: Encoding,
    trees: DocumentTrees | None = None,
    prompts: bool = False,
) -> list[types.CodeAction]:
    """``prompts``: the client asks for an instruction itself (``can_prompt``)."""
    uri = params.text_document.uri
    snapshot = store.get(uri)
    if snapshot is None:
        return []
    parsed = trees.get(snapshot) if trees is not None else None
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
        column = lsp_position(index, index.line_start(line_no) + instruction.column, encoding)
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
    for line_no in range(first, last + 1):
        todo = find_todo(index.line_text(line_no), markers)
        if todo is None:
            continue
        column = lsp_position(index, index.line_start(line_no) + todo.column, encoding)
        at = {"line": line_no, "character": column.character}
        what = f": {_short(todo.text, 60)}" if todo.text else ""
        actions.append(
            _run(
                f"Agent: implement{what}",
                types.CodeActionKind.RefactorRewrite,
                {
                    "instruction": "Implement what this TODO comment asks"
                    + (f" ({todo.text})" if todo.text else "")
                    + ", and remove the comment once it is done.",
                    "uri": uri,
                    "range": {"start": at, "end": at},
                    "mode": "edit",
                },
            )
        )
    if parsed is not None:
        actions += _definition_actions(snapshot, parsed, rng, encoding)
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
        if prompts:
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
        elif first <= last:
            actions.append(_comment_action(snapshot, first, markers))
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


def _comment_action(snapshot: Snapshot, line: int, markers: tuple[str, ...]) -> types.CodeAction:
    """An empty instruction comment put above ``line``, indented like it."""
    text = snapshot.index.line_text(line)
    indent = text[: len(text) - len(text.lstrip(" \t"))]
    lang = language_for(snapshot.uri, snapshot.language_id)
    marker = markers[0] if lang else COMMENT_OF.get(snapshot.language_id, "#")
    comment = f"{indent}{marker} agent: {CLOSER.get(marker, '')}"  # the user writes after ":"
    start = types.Position(line=line, character=0)
    edit = types.TextDocumentEdit(
        text_document=types.OptionalVersionedTextDocumentIdentifier(
            uri=snapshot.uri, version=snapshot.version
        ),
        edits=[types.TextEdit(range=types.Range(start=start, end=start), new_text=comment + "\n")],
    )
    title = "Agent: write an instruction for the selection"
    return types.CodeAction(
        title=title,
        kind=types.CodeActionKind.RefactorRewrite,
        edit=types.WorkspaceEdit(document_changes=[edit]),
    )


def _range_json(rng: types.Range) -> dict[str, Any]:
    return {
        "start": {"line": rng.start.line, "character": rng.start.character},
        "end": {"line": rng.end.line, "character": rng.end.character},
    }
