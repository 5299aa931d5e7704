"""What the context benchmark's modules share: where things live, the budgets, and the
progress log (on stderr: stdout holds only the table)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from benchmarks.context import corpora

HERE = Path(__file__).resolve().parent  # benchmarks/context/
REPO = HERE.parent.parent
CACHE = corpora.CACHE
AIDER_VENV = CACHE / "aider-venv"
AIDER_PY = AIDER_VENV / "bin" / "python"
# aider-chat pins its own dependencies; tree-sitter-language-pack 0.13.0 (what it pins)
# bundles its grammars: 1.x would download them at run time, which fails offline.
AIDER_REQUIREMENTS = [
    "aider-chat==0.86.2",
    "tree-sitter-language-pack==0.13.0",
    "bpe-openai==0.1.4",
]
OURS_PY = Path(sys.executable)
BUDGETS = (1024, 2048, 4096)
DET_BUDGET = 1024
ENGINE_SOURCE = REPO / "server" / "agentls" / "context" / "engine.py"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)
