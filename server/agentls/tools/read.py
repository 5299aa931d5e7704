"""The agent's read-only tools: read_file, list_files, search, find_symbol.

Each takes the model's arguments and answers text for the model. A path that may
not be used raises ``ToolDenied`` (its message says why, so the model can change
course). Outputs are capped so that one call cannot flood the context.

Secret content: a file's lines that hold a key, a token or a password are hidden
(``policy.secrets.redact``) before anything of the file is shown, and ``search``
looks at that redacted text only, so it cannot be used to guess a secret either.
``search`` takes RE2 syntax (linear time: no pattern can make it crawl) and stops
at a deadline, saying what it did not search.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pathspec
import re2

from agentls.context.index import Located
from agentls.policy.secrets import redact, redact_secrets
from agentls.tools.box import Tool, spec
from agentls.tools.workspace import ToolDenied, Workspace

READ_LINES = 2000  # lines read_file shows at most per call
LINE_CHARS = 2000  # characters of one line shown (longer lines are cut)
LIST_ENTRIES = 1000
SEARCH_MATCHES = 200
SEARCH_LINE_CHARS = 300
SEARCH_SKIPPED_SHOWN = 20  # files not searched (binary, too big) named in the answer
SEARCH_SECONDS = 10.0  # a search stops after this long and says what it did not search
HIDDEN_NOTE = (
    "lines holding secrets (keys, tokens, passwords) are shown as [hidden by agentls: …]; "
    "agentls never shows them. Do not write those lines back: edit around them"
)


def read_file(ws: Workspace, path: str, offset: int = 1, limit: int = READ_LINES) -> str:
    """Lines ``offset`` .. ``offset + limit - 1`` (1-based), numbered like ``cat -n``."""
    resolved = ws.resolve(path)
    text = ws.read_text(resolved)
    ws.note_seen(resolved, text)
    redacted = redact(text, resolved.relative)
    lines = redacted.text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    offset = max(1, offset)
    limit = max(1, min(limit, READ_LINES))
    shown = lines[offset - 1 : offset - 1 + limit]
    out = [f"{resolved.relative} ({len(lines)} lines)"]
    if resolved.relative in ws.not_utf8:
        out[0] += " (not UTF-8: the bytes that are not are shown as \ufffd; it cannot be edited)"
    if redacted.hits:
        out[0] += f" ({len(redacted.lines)} {HIDDEN_NOTE})"
    for number, line in enumerate(shown, start=offset):
        if len(line) > LINE_CHARS:
            line = line[:LINE_CHARS] + f" … ({len(line) - LINE_CHARS} more characters)"
        out.append(f"{number:6}\t{line}")
    last = offset - 1 + len(shown)
    if last < len(lines):
        out.append(f"… lines {last + 1}-{len(lines)} not shown (read_file with offset={last + 1})")
    if not shown:
        # (the same answer for every offset past the end: a model paging on past it
        # is seen going round in circles, agent/repeats.py)
        out.append(f"(no lines there: the file has {len(lines)}, offsets 1-{len(lines)})")
    return "\n".join(out)


def _glob(pattern: str | None) -> pathspec.GitIgnoreSpec | None:
    return pathspec.GitIgnoreSpec.from_lines([pattern]) if pattern else None


def list_files(ws: Workspace, path: str = ".", glob: str | None = None) -> str:
    """The files below ``path`` (gitignored and secret ones left out), optionally by glob."""
    folder = ws.resolve(path)
    if folder.path.is_file():
        return folder.relative
    if not folder.path.is_dir():
        raise ToolDenied(f"{path}: no such folder")
    spec = _glob(glob)
    names: list[str] = []
    more = 0
    for entry in ws.files.walk(folder.relative, any_file=True):
        if spec is not None and not spec.match_file(entry.path):
            continue
        if len(names) < LIST_ENTRIES:
            names.append(entry.path)
        else:
            more += 1
    if not names:
        return f"no files in {folder.relative or '.'}" + (f" matching {glob}" if glob else "")
    tail = [f"… and {more} more (narrow it with path or glob)"] if more else []
    return "\n".join([*names, *tail])


def _compile(pattern: str) -> Any:
    options = re2.Options()
    options.log_errors = False
    options.never_nl = True  # a match never spans lines, as in grep
    options.max_mem = 32 << 20
    try:
        return re2.compile(f"(?m){pattern}", options)
    except re2.error as error:
        raise ToolDenied(
            f"not a valid regular expression for search ({error}): {pattern!r}. search takes "
            "RE2 syntax (as Go and ripgrep): no look-around, no backreferences"
        ) from None


def _matching_lines(regex: Any, text: str) -> list[tuple[int, str]]:
    """(1-based number, line) of each line of ``text`` with a match, in linear time."""
    data = text.encode("utf-8", "surrogatepass")
    found: list[tuple[int, str]] = []
    pos = line = at = 0
    while pos <= len(data):
        match = regex.search(data, pos)
        if match is None:
            break
        start = match.start()
        line += data.count(b"\n", at, start)
        begin = data.rfind(b"\n", 0, start) + 1
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        found.append((line + 1, data[begin:end].decode("utf-8", "replace")))
        pos = at = end + 1
        line += 1
    return found


def search(
    ws: Workspace,
    pattern: str,
    path: str = ".",
    glob: str | None = None,
    seconds: float = SEARCH_SECONDS,
) -> str:
    """Lines matching a regular expression (RE2), as ``path:line: text``."""
    regex = _compile(pattern)
    deadline = time.monotonic() + seconds
    start = ws.resolve(path)
    spec = _glob(glob)
    if start.path.is_file():
        candidates = [start.relative]
    else:
        candidates = [e.path for e in ws.files.walk(start.relative, any_file=True)]
    out: list[str] = []
    skipped: list[str] = []
    more = 0
    unsearched = 0
    for relative in candidates:
        if spec is not None and not spec.match_file(relative):
            continue
        if unsearched or time.monotonic() > deadline:
            unsearched += 1
            continue
        try:
            text = ws.read_text(ws.resolve(relative))
        except (ToolDenied, OSError) as error:
            if len(skipped) < SEARCH_SKIPPED_SHOWN:  # binary, too big or unreadable
                skipped.append(str(error).split(";")[0])
            continue
        if regex.search(text.encode("utf-8", "surrogatepass")) is None:  # (hiding only loses)
            continue
        for number, line in _matching_lines(regex, redact_secrets(text, relative)):
            if len(out) >= SEARCH_MATCHES:
                more += 1
                continue
            if len(line) > SEARCH_LINE_CHARS:
                line = line[:SEARCH_LINE_CHARS] + " …"
            out.append(f"{relative}:{number}: {line}")
    not_searched = [f"not searched: {why}" for why in skipped]
    if unsearched:
        not_searched.append(
            f"not searched: {unsearched} more files: the search stopped after {seconds:g} s "
            "(narrow it with path or glob)"
        )
    if not out:
        return "\n".join([f"no match for {pattern!r} in {start.relative or '.'}", *not_searched])
    if more:
        out.append(f"… and {more} more matches (narrow it with path or glob)")
    return "\n".join([*out, *not_searched])


def find_symbol(
    ws: Workspace, definitions: Callable[[str], list[Located]], name: str, limit: int = 50
) -> str:
    """Where ``name`` is defined, from the workspace index, with each signature line."""
    found = [loc for loc in definitions(name) if ws.files.allowed(loc.path)]
    if not found:
        return f"no definition of {name!r} in the workspace index"
    out: list[str] = []
    for loc in found[:limit]:
        d = loc.definition
        try:
            lines = ws.read_text(ws.resolve(loc.path)).split("\n")
        except ToolDenied:
            continue
        header = " ".join(line.strip() for line in lines[d.start : d.header_end + 1])
        header = redact_secrets(header, loc.path)
        scope = f" in {d.scope}" if d.scope else ""
        out.append(f"{loc.path}:{d.start + 1}-{d.end + 1}: {d.kind} {d.name}{scope}: {header}")
    if len(found) > limit:
        out.append(f"… and {len(found) - limit} more")
    return "\n".join(out)


def read_only_tools(
    ws: Workspace, definitions: Callable[[str], list[Located]] | None = None
) -> list[Tool]:
    """The contract's read-only tools over ``ws`` (find_symbol when an index is given)."""
    path = {"type": "string", "description": "a path in the workspace (relative is best)"}
    glob = {"type": "string", "description": "a glob such as *.py or src/**/*.ts"}
    tools = [
        Tool(
            spec(
                "read_file",
                "Read a file (the editor's unsaved text if it is open), lines numbered.",
                {
                    "path": path,
                    "offset": {"type": "integer", "description": "first line, 1-based"},
                    "limit": {"type": "integer", "description": f"lines, at most {READ_LINES}"},
                },
                ["path"],
            ),
            lambda a: read_file(ws, a["path"], a.get("offset", 1), a.get("limit", READ_LINES)),
            parallel=True,
        ),
        Tool(
            spec(
                "list_files",
                "List the files of a folder (ignored and secret files are left out).",
                {"path": path, "glob": glob},
                [],
            ),
            lambda a: list_files(ws, a.get("path", "."), a.get("glob")),
            parallel=True,
        ),
        Tool(
            spec(
                "search",
                "Search the workspace's files for a regular expression (RE2 syntax, as in Go "
                "or ripgrep); lines as path:line: text.",
                {"pattern": {"type": "string"}, "path": path, "glob": glob},
                ["pattern"],
            ),
            lambda a: search(ws, a["pattern"], a.get("path", "."), a.get("glob")),
            parallel=True,
        ),
    ]
    if definitions is not None:
        tools.append(
            Tool(
                spec(
                    "find_symbol",
                    "Where a function, class, method or constant is defined, with its signature.",
                    {"name": {"type": "string"}},
                    ["name"],
                ),
                lambda a: find_symbol(ws, definitions, a["name"]),
                parallel=True,
            )
        )
    return tools
