"""Which file contents hold a secret, remembered across runs: the command sandbox's
first scan of a big workspace (every text file checked by detect-secrets' detectors,
about 2 ms a file) is paid once, not at every start of the server.

A verdict is kept under the SHA-256 of the detectors' version, the file's
workspace-relative path (the path picks the keyword patterns) and its bytes: a file
whose content changed is checked again whatever its size or times say, so nothing a
command can set (``touch -d``, a same-size rewrite) reuses an old verdict. The store
is a file in the user's cache folder (``<cache>/secret-verdicts/<hash of the root>``,
0600 in a 0700 folder), outside every sandbox's view; one that cannot be read counts
as empty.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from importlib.metadata import version
from pathlib import Path

from agentls.cache_dir import default_cache_dir

log = logging.getLogger(__name__)


def _detectors() -> str:
    """What decides a verdict: detect-secrets' version and agentls' own detectors."""
    from agentls.policy import secret_content

    ours = hashlib.sha256(Path(secret_content.__file__).read_bytes()).hexdigest()[:12]
    return f"{version('detect-secrets')}/{ours}"


VERSION = _detectors()
MAX_VERDICTS = 500_000  # past this, the store starts again


def verdict_key(relative: str, data: bytes) -> str:
    digest = hashlib.sha256(f"{VERSION}\0{relative}\0".encode("utf-8", "surrogateescape"))
    digest.update(data)
    return digest.hexdigest()[:40]


class VerdictStore:
    """The verdicts of one workspace's files (thread-safe)."""

    def __init__(self, root: Path, cache: Path | None = None) -> None:
        key = hashlib.sha256(str(root).encode("utf-8", "surrogateescape")).hexdigest()[:16]
        self.path = (cache or default_cache_dir()) / "secret-verdicts" / f"{key}.json"
        self._known: dict[str, bool] | None = None
        self._dirty = False
        self._lock = threading.Lock()

    def _load(self) -> dict[str, bool]:
        if self._known is None:
            try:
                raw = json.loads(self.path.read_text(encoding="utf-8"))
                held, clean = raw.get("held", []), raw.get("clean", [])
                self._known = {**dict.fromkeys(clean, False), **dict.fromkeys(held, True)}
            except (OSError, ValueError, AttributeError, TypeError):
                self._known = {}
        return self._known

    def get(self, key: str) -> bool | None:
        with self._lock:
            return self._load().get(key)

    def put(self, key: str, holds: bool) -> None:
        with self._lock:
            known = self._load()
            if len(known) >= MAX_VERDICTS:
                known.clear()
            known[key] = holds
            self._dirty = True

    def save(self) -> None:
        with self._lock:
            if not self._dirty or self._known is None:
                return
            held = [k for k, v in self._known.items() if v]
            clean = [k for k, v in self._known.items() if not v]
            self._dirty = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.path.parent.chmod(0o700)
            temporary = self.path.with_suffix(f".{os.getpid()}.tmp")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                json.dump({"held": held, "clean": clean}, file)
            os.replace(temporary, self.path)
        except OSError as error:
            log.warning("secret verdicts not kept: %s", error)
