"""What the secret check and the RE2 search cost (issue 12, classes 6 and 7).

    .venv/bin/python benchmarks/secrets/run.py

Prints a Markdown table (case | size | median ms of 5 | target). In-process, no server:
``redact`` over a 4 MB source file with no secret (the RE2 prefilter alone), the same
with a token every 1,000 lines, a file whose every line holds a keyword (the worst case:
5,000 lines checked, the rest hidden unchecked), and ``search`` with a catastrophic
pattern over a workspace of 40 files of 100 kB.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from agentls.context.files import WorkspaceFiles
from agentls.policy.secrets import redact
from agentls.tools.read import search
from agentls.tools.workspace import Workspace
from tests.security.secret_samples import python_line, token_samples

CODE = "    result = compute(values[index], scale=2.5)  # a line of code\n"


def median_ms(work: Callable[[], object], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    plain = CODE * (4_000_000 // len(CODE))
    lines = plain.split("\n")
    for n in range(0, len(lines), 1000):
        lines[n] = python_line(token_samples()[n % 20])
    tokens = "\n".join(lines)
    keywords = "password = 'x'\n" * 100_000
    redact("warm up")
    rows = [
        ("redact, no secret", f"{len(plain) / 1e6:.1f} MB", median_ms(lambda: redact(plain)), 100),
        (
            "redact, a token every 1,000 lines",
            f"{len(tokens) / 1e6:.1f} MB",
            median_ms(lambda: redact(tokens)),
            200,
        ),
        (
            "redact, a keyword on every line",
            f"{len(keywords) / 1e6:.1f} MB",
            median_ms(lambda: redact(keywords), 3),
            1500,
        ),
    ]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for n in range(40):
            (root / f"f{n}.txt").write_text(("x" * 40 + "\n") * 2500)
        ws = Workspace(WorkspaceFiles(root))
        rows.append(
            (
                "search (x+x+)+y",
                "40 files, 4 MB",
                median_ms(lambda: search(ws, "(x+x+)+y")),
                500,
            )
        )
    print("| case | size | median ms | target ms |")
    print("|---|---|---|---|")
    for case, size, ms, target in rows:
        print(f"| {case} | {size} | {ms:.0f} | {target} |")


if __name__ == "__main__":
    main()
