"""What the load benchmark's modules share: where it writes, its sizes and timings,
and small helpers (log, UTF-16 length, percentile)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
CACHE = ROOT / "benchmarks" / ".cache" / "load"
FUNCTIONS = 6  # per task document
NOTES = "# notes:"  # line 1 of the typed documents: typing goes at its end
TYPING = [*"typing here — «données» ", "😀", " ", "ok", "\n# ", "more "]
SAMPLE_EVERY = 10.0
WAVE_TIMEOUT = 120.0
ALLOW = "Allow once"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]
