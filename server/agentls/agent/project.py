"""Project instructions: ``AGENTS.md`` (and ``CLAUDE.md``) from the workspace root down
to the folder the task is about, outermost first, within a size cap.

They are text from the workspace: they tell the agent how the project works, and can
never approve or widen anything (the policy does not read them).
"""

from __future__ import annotations

from pathlib import Path

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
            path = place / name
            if path.is_file() and not path.is_symlink():
                try:
                    text = path.read_text(encoding="utf-8", errors="replace").strip()
                except OSError:
                    continue
                if text:
                    found.append((path.relative_to(root).as_posix(), text))
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
