"""What the command sandbox's scan of a big workspace costs (issue 12, gaps): before
each command, every folder is checked for repositories, secret files and protected
paths, and every text file up to 1 MB outside package folders for secret content.

    .venv/bin/python benchmarks/secrets/sandbox_scan.py [FILES] [RUNS]

Makes a workspace of FILES source files (default 50,000, in folders of 100; code
lines, one file in 500 holding a token) in /var/tmp, then prints a Markdown table
(case | files | median s of RUNS | target s): the first scan ever (every file checked
by the detectors), the first scan of a new runner (a new server) with the verdicts of
an earlier run kept (``secret_verdicts.py``: every file read and hashed), the next
one (nothing changed: a stat per folder and file) and one after a command touched
100 files.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from agentls.policy.protected import ProtectedMatcher
from agentls.policy.sandbox_scan import CONTENT_SCAN_BYTES, TreeScan
from agentls.policy.secret_verdicts import VerdictStore
from agentls.policy.secrets import SecretContentFiles, SecretMatcher
from tests.security.secret_samples import python_line, token_samples

CODE = [
    "def compute(values, index, scale=2.5):\n",
    "    result = values[index] * scale  # a line of code\n",
    "    password_field = form.get('password')\n",
    "    return {'name': name, 'items': [x for x in items if x]}\n",
]


def make_workspace(root: Path, files: int) -> None:
    tokens = token_samples()
    for n in range(files):
        folder = root / f"pkg{n // 1000}" / f"mod{(n // 100) % 10}"
        if n % 100 == 0:
            folder.mkdir(parents=True)
        text = "".join(CODE[(n + i) % len(CODE)] for i in range(40))
        if n % 500 == 0:
            text += python_line(tokens[n % len(tokens)]) + "\n"
        (folder / f"m{n}.py").write_text(text)


def new_scan(root: Path, cache: Path | None = None) -> TreeScan:
    """A new runner's scan; with the verdicts of earlier runs kept in ``cache``."""
    secrets = SecretMatcher()
    verdicts = VerdictStore(root, cache) if cache is not None else None
    content = SecretContentFiles(root, max_bytes=CONTENT_SCAN_BYTES, verdicts=verdicts)
    return TreeScan(root, secrets, content=content, protected=ProtectedMatcher())


def median_s(work: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    files = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    root = Path(tempfile.mkdtemp(prefix="agentls-bench-scan-", dir="/var/tmp"))
    try:
        make_workspace(root, files)
        found = len(new_scan(root).scan().secret_content)
        first = median_s(lambda: new_scan(root).scan(), runs)
        cache = root.parent / (root.name + "-cache")
        new_scan(root, cache).scan()  # the verdicts of an earlier run
        kept = median_s(lambda: new_scan(root, cache).scan(), runs)
        warm = new_scan(root)
        warm.scan()
        again = median_s(warm.scan, runs)

        def touched() -> None:
            for n in range(0, files, max(1, files // 100)):
                path = root / f"pkg{n // 1000}" / f"mod{(n // 100) % 10}" / f"m{n}.py"
                path.write_text(path.read_text() + "\n")
            warm.scan()

        after = median_s(touched, runs)
    finally:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(root.parent / (root.name + "-cache"), ignore_errors=True)
    print(f"{files} files, {found} holding a token found")
    print("| case | files | median s | target s |")
    print("|---|---|---|---|")
    print(f"| first scan ever (every file checked) | {files} | {first:.2f} | 120 |")
    print(f"| first scan of a new runner, verdicts kept | {files} | {kept:.2f} | 5 |")
    print(f"| next scan, nothing changed | {files} | {again:.2f} | 0.5 |")
    print(f"| next scan, 100 files changed | {files} | {after:.2f} | 1 |")


if __name__ == "__main__":
    main()
