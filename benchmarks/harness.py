"""The benchmark harness: the real server over stdio, a recording fake editor, stats.

``bench_session`` is ``tests.support.lsp_session`` with two differences: the server
command can be swapped (for profiling) and the editor is a ``BenchEditor``, the
test suite's ``FakeEditor`` plus

- a faster document model (``FastTextDocument``): pygls' ``TextDocument`` applies an
  incremental change with a Python loop over every line (~3 ms on a 10k-line
  file), which would put the *client* in the measured latencies. The fast version
  uses the same UTF-16 position codec and is checked against pygls' own on random
  edits (``self_check``). ``--plain-editor`` keeps pygls' version.
- a record, after every applied ``workspace/applyEdit``, of the receive time, the
  version and the start of the rewritten region, for the streaming benchmark.
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.workspace import TextDocument
from pytest_lsp import LanguageClient

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.fake_editor import FakeEditor  # noqa: E402
from tests.support.lsp_session import SERVER, lsp_session  # noqa: E402

PROFILED_SERVER = [sys.executable, str(Path(__file__).with_name("profiled_server.py"))]


class FastTextDocument(TextDocument):
    """pygls' TextDocument with an O(changed text) incremental change (same semantics)."""

    def _apply_incremental_change(self, change: types.TextDocumentContentChangePartial) -> None:
        lines = self.lines
        rng = self._position_codec.range_from_client_units(lines, change.range)
        if rng.start.line == len(lines):
            self._source = self.source + change.text
            return
        source = self.source

        def offset(line: int, column: int) -> int:
            if line >= len(lines):
                return len(source)
            return sum(map(len, lines[:line])) + min(column, len(lines[line]))

        start = offset(rng.start.line, rng.start.character)
        end = offset(rng.end.line, rng.end.character)  # < start: as pygls, text repeats
        self._source = source[:start] + change.text + source[end:]


@dataclass
class EditRecord:
    time: float  # perf_counter when the applyEdit arrived (FakeEditor's log time)
    version: int | None  # the version the edit was made against
    outcome: str
    region: str  # document text from the region's first line, after the edit


@dataclass
class BenchEditor(FakeEditor):
    fast: bool = True
    watch: dict[str, tuple[int, int]] = field(default_factory=dict)  # uri -> (offset, length)
    records: list[EditRecord] = field(default_factory=list)

    def open(self, uri: str, text: str, language_id: str = "python", version: int = 0) -> None:
        super().open(uri, text, language_id, version)
        if self.fast:
            self.docs[uri] = FastTextDocument(uri, text, version=version, language_id=language_id)

    def watch_region(self, uri: str, first_line: int, length: int) -> None:
        """Record the text from ``first_line`` (``length`` characters) after each edit."""
        source = self.docs[uri].source
        start = 0
        for _ in range(first_line):
            start = source.index("\n", start) + 1
        self.watch[uri] = (start, length)

    def _apply_edit(self, params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        before = len(self.log)
        try:
            return super()._apply_edit(params)
        finally:
            for entry in self.log[before:]:
                if entry.uri in self.watch:
                    start, length = self.watch[entry.uri]
                    region = self.docs[entry.uri].source[start : start + length]
                    self.records.append(
                        EditRecord(entry.time, entry.version, entry.outcome, region)
                    )


@asynccontextmanager
async def bench_session(
    init_options: Any,
    *,
    server: Sequence[str] = SERVER,
    fast_editor: bool = True,
) -> AsyncIterator[tuple[LanguageClient, BenchEditor, int]]:
    """(client, editor, server pid) of a fresh server started with ``server``."""
    # The source tree first, so that a --server-cmd of another python finds agentls.
    pythonpath = os.pathsep.join(
        p for p in (str(ROOT / "server"), os.environ.get("PYTHONPATH", "")) if p
    )
    async with lsp_session(
        init_options,
        server=server,
        env={"PYTHONPATH": pythonpath},
        editor_class=BenchEditor,
        root_uri="file:///tmp/agentls-bench",
        fast=fast_editor,
    ) as (client, editor):
        assert client._server is not None
        yield client, editor, client._server.pid


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), nearest-rank on sorted data; nan if empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[min(len(ordered), int(rank)) - 1]


def summary_ms(values: Sequence[float]) -> dict[str, float]:
    """p50 / p99 / max / count of durations given in seconds, in milliseconds."""
    return {
        "p50": percentile(values, 50) * 1e3,
        "p99": percentile(values, 99) * 1e3,
        "max": (max(values) if values else float("nan")) * 1e3,
        "count": len(values),
    }


def self_check(rounds: int = 300, seed: int = 3) -> None:
    """FastTextDocument == pygls TextDocument on random edits over non-ASCII text."""
    rng = random.Random(seed)
    text = "".join(
        rng.choice(["abc", "é", "数据", "🚀", " ", "\n", "x = 1\n", "👩‍💻", "\r\n"])
        for _ in range(400)
    )
    slow = TextDocument("file:///a.py", text)
    fast = FastTextDocument("file:///a.py", text)
    for _ in range(rounds):
        n = len(slow.lines)
        sl = rng.randrange(n + 1)
        el = min(n, sl + rng.choice([0, 0, 1, 2, 5]))
        sc, ec = rng.randrange(12), rng.randrange(12)
        if (el, ec) < (sl, sc):
            ec = sc
        new = rng.choice(["", "q", "é\n", "🚀🚀", "line\nline\n", "数"])
        change = types.TextDocumentContentChangePartial(
            range=types.Range(
                start=types.Position(line=sl, character=sc),
                end=types.Position(line=el, character=ec),
            ),
            text=new,
        )
        slow.apply_change(change)
        fast.apply_change(
            types.TextDocumentContentChangePartial(
                range=types.Range(
                    start=types.Position(line=sl, character=sc),
                    end=types.Position(line=el, character=ec),
                ),
                text=new,
            )
        )
        if slow.source != fast.source:
            raise AssertionError(f"FastTextDocument differs from pygls after {change}")
