"""Project instructions: ``AGENTS.md`` (and ``CLAUDE.md``) from the workspace root down
to the folder the task is about, outermost first, within a size cap.

They are text from the workspace: they tell the agent how the project works, and can
never approve or widen anything (the policy does not read them).
"""

from __future__ import annotations

from pathlib import Path

from agentls.context.regular import read_regular_text

NAMES = ("AGENTS.md", "CLAUDE.md")
MAX_CHARS = 16_000  # all instruction files together; the nearest folder's are kept first


def project_instructions(root: Path, folder: Path | None = None, cap: int = MAX_CHARS) -> str:
    root = root.resolve()
    folder = (folder or root).resolve()
    if folder != root and root not in folder.parents:
        folder = root
    chain = [folder, *[p for p in folder.parents if p == root or root in p.parents]]
    found: list[tuple[str, str]] = []  # (relative path, text), nearest first
    for place in chain:
        for name in NAMES:
            relative = (place / name).relative_to(root).as_posix()
            try:  # a regular file only, no link on the way, never more than the cap
                text = read_regular_text(root, relative, cap * 4, cut=True).strip()
            except OSError:  # missing, a link, a fifo, a device
                continue
            if text:
                found.append((relative, text))
    kept: list[tuple[str, str]] = []
    left = cap
    for relative, text in found:  # nearest first: they win the space
        if left <= 0:
            break
        if len(text) > left:
            text = text[:left] + f"\n… ({relative} cut at the {cap}-character cap)"
        kept.append((relative, text))
        left -= len(text)
    return "\n\n".join(f"## {relative}\n{text}" for relative, text in reversed(kept))
