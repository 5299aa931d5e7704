"""The diagnostics the editor has shown us, for ``get_diagnostics`` and verification.

LSP has no request for a client's diagnostics: they reach a server only inside
``textDocument/codeAction`` requests (``context.diagnostics``, those overlapping the
requested range). Each such request replaces what we knew of its range's lines.
Every record keeps the time it was reported, so verification can tell diagnostics
reported after an edit from stale ones.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from lsprotocol import types

SEVERITY = {1: "error", 2: "warning", 3: "info", 4: "hint"}


@dataclass(frozen=True)
class Seen:
    diagnostic: types.Diagnostic
    at: float  # time.monotonic() when the editor sent it


class EditorDiagnostics:
    def __init__(self) -> None:
        self.by_uri: dict[str, list[Seen]] = {}

    def note(
        self, uri: str, rng: types.Range, diagnostics: Sequence[types.Diagnostic] | None
    ) -> None:
        first, last = rng.start.line, rng.end.line
        kept = [
            s
            for s in self.by_uri.get(uri, [])
            if s.diagnostic.range.end.line < first or s.diagnostic.range.start.line > last
        ]
        now = time.monotonic()
        kept += [Seen(d, now) for d in diagnostics or []]
        if kept:
            self.by_uri[uri] = kept
        else:
            self.by_uri.pop(uri, None)

    def closed(self, uri: str) -> None:
        self.by_uri.pop(uri, None)

    def of(self, uri: str, since: float | None = None, errors_only: bool = False) -> list[Seen]:
        seen = self.by_uri.get(uri, [])
        return [
            s
            for s in sorted(seen, key=lambda s: (s.diagnostic.range.start.line, s.at))
            if (since is None or s.at >= since)
            and (not errors_only or (s.diagnostic.severity or 1) == 1)
        ]


def describe(path: str, seen: Seen) -> str:
    d = seen.diagnostic
    severity = SEVERITY.get(int(d.severity or 1), "error")
    source = f" ({d.source})" if d.source else ""
    at = f"{path}:{d.range.start.line + 1}:{d.range.start.character + 1}"
    return f"{at}: {severity}{source}: {d.message}"
