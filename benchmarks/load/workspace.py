"""The generated workspace of the load benchmark: task documents (functions to rewrite
and edit), side files the agent reads and edits, documents the client types into."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from benchmarks.load.common import FUNCTIONS, NOTES


def function_code(doc: int, k: int, version: int) -> str:
    """Function ``f_k`` of document ``doc`` at ``version`` (0: the original); every
    version differs from the others in three lines."""
    return (
        f'def f_{k}(x: int, y: str = "é") -> tuple[int, str]:\n'
        f'    """f_{k} of d{doc:02d}, version {version}: «ünïcode» ✓."""\n'
        f"    total = x + {version}\n"
        f"    for n in range({doc + 2}):\n"
        f"        total += n * {k + 1}\n"
        f"    if total > {version * 3 + k}:\n"
        f"        total -= 1\n"
        f"    return total, y\n"
    )


def task_document(doc: int, sides: int) -> str:
    parts = [
        f'"""Task document d{doc:02d} of the load benchmark."""\n',
        f"{NOTES}\n",
        f"from pkg import s{doc % sides:02d}\n\n",
        "COUNTER = 0\n\n\n",
    ]
    parts += [function_code(doc, k, 0) + "\n\n" for k in range(FUNCTIONS)]
    parts.append(
        "# agent: add type hints to Keep\n"
        "class Keep:\n"
        f"    def value(self):\n        return s{doc % sides:02d}.base() + COUNTER\n"
    )
    return "".join(parts)


def side_document(j: int) -> str:
    return (
        f'"""Side file s{j:02d}: the full-agent tasks edit it."""\n\n'
        f"VALUE_{j} = 0\n\n\n"
        f"def base() -> int:\n    return VALUE_{j} * 2\n\n\n"
        f"def label(name: str) -> str:\n    return f'{{name}}-{j}'\n"
    )


def typing_document(j: int) -> str:
    lines = [f'"""Typing document t{j:02d}."""', NOTES, ""]
    for k in range(40):
        lines += [f"def helper_{k}(a, b):", f"    return a * {k} + b  # café {k}", "", ""]
    lines += ["# agent: make the helpers a class", "HELPERS = 40", ""]
    return "\n".join(lines)


@dataclass
class Workspace:
    root: Path
    task_docs: list[str]  # uris
    side_docs: list[str]
    typing_docs: list[str]
    texts: dict[str, str]  # uri -> original text


def make_workspace(root: Path, docs: int, sides: int, typing: int) -> Workspace:
    if root.exists():
        shutil.rmtree(root)
    pkg = root / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text('"""The load benchmark\'s package."""\n')
    (root / "AGENTS.md").write_text("Keep the code simple.\n")
    texts: dict[str, str] = {}
    out: dict[str, list[str]] = {"d": [], "s": [], "t": []}
    for prefix, count, make in (
        ("d", docs, lambda i: task_document(i, sides)),
        ("s", sides, side_document),
        ("t", typing, typing_document),
    ):
        for i in range(count):
            path = pkg / f"{prefix}{i:02d}.py"
            text = make(i)
            path.write_text(text, encoding="utf-8")
            texts[path.as_uri()] = text
            out[prefix].append(path.as_uri())
    return Workspace(root, out["d"], out["s"], out["t"], texts)
