"""Where agentls keeps what it computes per workspace (index, checkpoints, verdicts)."""

from __future__ import annotations

import os
from pathlib import Path


def default_cache_dir() -> Path:
    """``AGENTLS_CACHE_DIR``, else ``$XDG_CACHE_HOME/agentls``, else ``~/.cache/agentls``."""
    if os.environ.get("AGENTLS_CACHE_DIR"):
        return Path(os.environ["AGENTLS_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "agentls"
