"""``agentls context PATH:LINE[:COL]``: what the context engine would send, from a terminal."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from agentls.config import ContextSettings
from agentls.context.files import git_root


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", help="PATH:LINE[:COL], 1-based")
    p.add_argument(
        "--budget",
        type=int,
        default=ContextSettings().max_tokens,
        help=f"token budget (default {ContextSettings().max_tokens}, as context.maxTokens)",
    )
    p.add_argument("--json", action="store_true", help="print the selection as JSON")
    p.add_argument(
        "--workspace", metavar="DIR", help="workspace root (default: the git root, else cwd)"
    )
    p.add_argument("--cache-dir", metavar="DIR", help="where the index lives")


def parse_target(target: str) -> tuple[str, int, int]:
    parts = target.rsplit(":", 2)
    numbers: list[int] = []
    while len(parts) > 1 and parts[-1].isdigit() and len(numbers) < 2:
        numbers.insert(0, int(parts.pop()))
    if not numbers:
        raise ValueError(f"{target!r}: expected PATH:LINE[:COL]")
    path = ":".join(parts)
    line = numbers[0]
    column = numbers[1] if len(numbers) > 1 else 1
    if line < 1 or column < 1:
        raise ValueError(f"{target!r}: lines and columns start at 1")
    return path, line - 1, column - 1


def workspace_of(path: Path) -> Path:
    return git_root(path.parent) or Path.cwd()


def main(args: argparse.Namespace) -> int:
    from agentls.context.engine import ContextEngine

    try:
        path, line, column = parse_target(args.target)
    except ValueError as error:
        print(f"agentls context: {error}", file=sys.stderr)
        return 2
    file = Path(path).resolve()
    if not file.is_file():
        print(f"agentls context: {path}: no such file", file=sys.stderr)
        return 2
    root = Path(args.workspace).resolve() if args.workspace else workspace_of(file)
    engine = ContextEngine(root, Path(args.cache_dir) if args.cache_dir else None)
    stats = engine.build()
    print(
        f"index: {stats.files} files, {stats.definitions} definitions"
        f" ({stats.parsed} parsed) in {stats.seconds:.2f} s",
        file=sys.stderr,
    )
    selection = engine.select(str(file), line, column, args.budget)
    if args.json:
        json.dump(selection.to_json(), sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return 0
    for snippet in selection.snippets:
        print(
            f"--- {snippet.path}:{snippet.start_line}-{snippet.end_line}"
            f"  {snippet.tokens} tokens  {snippet.reason}"
        )
        print(snippet.text)
    print(f"--- total {selection.total_tokens} of {args.budget} tokens")
    return 0
