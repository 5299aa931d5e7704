"""``agentls exec``: the same focused rewrite from a terminal, on a file on disk."""

from __future__ import annotations

import argparse
import asyncio
import difflib
import sys
from pathlib import Path

from agentls.agent.rewrite import Rewrite, RewriteRequest
from agentls.agent.tasks import TaskRegistry, TaskResult
from agentls.cli_settings import INTERRUPTED, settings_and_model
from agentls.context.trees import DocumentTrees
from agentls.edits.editor import MemoryEditor
from agentls.edits.text import Position
from agentls.model.factory import ClosableModel
from agentls.policy.display import visible


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("instruction", help="what to do, e.g. 'add type hints'")
    p.add_argument(
        "target",
        nargs="?",
        help="PATH:LINE[:COL] (1-based) for the enclosing function, or PATH:START-END for "
        "whole lines: a focused rewrite there; without it, the agent with its tools",
    )
    p.add_argument("--workspace", metavar="DIR", help="the agent's workspace (default: cwd)")
    p.add_argument(
        "--approval",
        choices=["read-only", "ask", "auto-edit", "full-auto"],
        default="auto-edit",
        help="what the agent may do without asking (default auto-edit: edit files)",
    )
    p.add_argument(
        "--mode",
        choices=["edit", "plan", "ask"],
        default="edit",
        help="without a target: act (edit), plan first and act once approved (plan), or "
        "answer only (ask)",
    )
    p.add_argument("--model", help="model name (default: env AGENTLS_MODEL)")
    p.add_argument("--base-url", help="OpenAI-compatible endpoint (default: env OPENAI_BASE_URL)")
    p.add_argument("--dry-run", action="store_true", help="print the diff, do not write")
    p.add_argument(
        "--settings",
        metavar="JSON|@FILE",
        help="agentls settings as in the editor's initializationOptions (a JSON object, or "
        '@path to a file holding one), e.g. \'{"verify": {"commands": ["pytest -q"]}}\'',
    )


def _parse_target(target: str, text: str) -> tuple[Path, int, int]:
    path_part, _, where = target.partition(":")
    path = Path(path_part)
    from agentls.edits.text import LineIndex

    index = LineIndex(text)
    if "-" in where:
        first, last = (int(n) for n in where.split("-", 1))
        start = index.line_start(first - 1)
        end = index.line_start(last) if last < index.line_count else len(text)
        return path, start, end
    line, _, col = where.partition(":")
    at = index.offset(Position(int(line or 1) - 1, int(col or 1) - 1), "utf-32")
    return path, at, at


async def _rewrite(
    rewrite: Rewrite, editor: MemoryEditor, uri: str, model: ClosableModel
) -> tuple[TaskResult, str]:
    try:
        result = await rewrite.run()
    finally:
        await model.aclose()  # on every path: no connection left for the loop to find
    return result, editor.store.snapshot(uri).text


def main(args: argparse.Namespace) -> int:
    """A focused rewrite at ``args.target`` (``cli.py`` sends a run without a target to
    ``cli_agent.main``)."""
    path = Path(args.target.partition(":")[0])
    try:
        original = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        print(f"agentls: cannot read {path}: {error}", file=sys.stderr)
        return 2
    _, start, end = _parse_target(args.target, original)
    settings, model = settings_and_model(args)
    if model is None:
        return 2
    editor = MemoryEditor()
    trees = DocumentTrees(idle_reparse=None)  # the server's path: one tree, kept current
    editor.store.listeners.append(trees)
    uri = path.resolve().as_uri()
    editor.store.open(uri, 0, original)
    task = TaskRegistry().new(args.instruction, uri)
    rewrite = Rewrite(
        task,
        RewriteRequest(args.instruction, editor.store.snapshot(uri).span(start, end)),
        model=model,
        editor=editor,
        settings=settings,
        report=lambda message: print(f"… {visible(message)}", file=sys.stderr),
        trees=trees,
    )
    try:
        result, new = asyncio.run(_rewrite(rewrite, editor, uri, model))
    except KeyboardInterrupt:  # Ctrl-C: the text was only in memory, the file is as it was
        print(f"\nagentls: stopped; {path} was not changed", file=sys.stderr)
        return INTERRUPTED
    finally:
        trees.shutdown()
    diff = "".join(
        difflib.unified_diff(
            original.splitlines(keepends=True),
            new.splitlines(keepends=True),
            f"a/{path}",
            f"b/{path}",
        )
    )
    if sys.stdout.isatty():  # shown, not piped to patch: the model's bytes made visible
        diff = "\n".join(visible(line) for line in diff.split("\n"))
    sys.stdout.write(diff)
    if result.status == "done" and new != original and not args.dry_run:
        path.write_text(new, encoding="utf-8")
    usage = result.usage
    print(
        f"agentls: {result.status}: {visible(result.summary)} "
        f"({usage.input_tokens} in, {usage.output_tokens} out tokens)",
        file=sys.stderr,
    )
    return 0 if result.status == "done" else 1
