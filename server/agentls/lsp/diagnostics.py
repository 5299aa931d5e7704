"""The diagnostics the editor has shown us, for ``get_diagnostics`` and verification.

LSP has no request for a client's diagnostics: they reach a server inside
``textDocument/codeAction`` requests (``context.diagnostics``, those overlapping the
requested range). Each such request replaces what we knew of its range's lines.

A client that sets the experimental capability ``agentlsDiagnostics`` (the VS Code
extension) also answers the request ``agentls/diagnostics`` with all it shows, from
every source: params ``{"uris": [...]}`` (omitted: every file), result
``{"files": [{"uri", "diagnostics": [Diagnostic], "ageMs"}]}``, ``ageMs`` being how
long ago that file's diagnostics last changed. ``pull`` asks it before the agent reads
diagnostics; each file's answer replaces what we knew of that file.

Every record keeps the time it was reported (for a pulled file: when it last changed),
so verification can tell diagnostics reported after an edit from stale ones.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from lsprotocol import converters, types
from pygls.protocol import JsonRPCProtocol

log = logging.getLogger(__name__)

SEVERITY = {1: "error", 2: "warning", 3: "info", 4: "hint"}
PULL_METHOD = "agentls/diagnostics"
PULL_CAPABILITY = "agentlsDiagnostics"  # in the client's capabilities.experimental
PULL_TIMEOUT = 5.0  # seconds; without an answer the agent reads what it has


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

    def replace(self, uri: str, diagnostics: Sequence[types.Diagnostic], at: float) -> None:
        """All of ``uri``'s diagnostics, as the editor shows them since ``at``."""
        if diagnostics:
            self.by_uri[uri] = [Seen(d, at) for d in diagnostics]
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


class PullClient(Protocol):
    """What ``pull`` needs of the server: the client's capabilities, its protocol (to
    send the request) and the diagnostics it keeps."""

    diagnostics: EditorDiagnostics

    @property
    def client_capabilities(self) -> types.ClientCapabilities: ...

    @property
    def protocol(self) -> JsonRPCProtocol: ...


async def pull(ls: PullClient, uris: Sequence[str] | None = None) -> None:
    """Ask the client for the diagnostics it shows (``uris``, else every file) and keep
    them; a client without the capability, an error or no answer in time changes nothing."""
    experimental = ls.client_capabilities.experimental
    if not (isinstance(experimental, dict) and experimental.get(PULL_CAPABILITY)):
        return
    params = {} if uris is None else {"uris": list(uris)}
    try:
        answer: Any = await asyncio.wait_for(
            ls.protocol.send_request_async(PULL_METHOD, params), PULL_TIMEOUT
        )
        files = _plain(answer)["files"]
        now, converter = time.monotonic(), converters.get_converter()
        pulled = {}
        for item in files:
            found = converter.structure(item["diagnostics"], list[types.Diagnostic])
            pulled[str(item["uri"])] = (found, now - float(item.get("ageMs", 0)) / 1000)
    except Exception as error:  # an old or broken client: keep what we have
        log.info("%s failed: %s", PULL_METHOD, error)
        return
    gone = set(ls.diagnostics.by_uri) - set(pulled) if uris is None else set(uris) - set(pulled)
    for uri in gone:
        ls.diagnostics.closed(uri)
    for uri, (found, at) in pulled.items():
        ls.diagnostics.replace(uri, found, at)


def _plain(value: Any) -> Any:
    """pygls hands an untyped answer over as namedtuples: back to dicts and lists."""
    if hasattr(value, "_asdict"):
        return {key: _plain(item) for key, item in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value
