"""A selection depends on the files as they are, not on what buffers held before."""

from __future__ import annotations

from pathlib import Path

from agentls.context.engine import ContextEngine

FILES = {
    "pkg/__init__.py": "",
    "pkg/util.py": (
        "def alpha(x: int) -> int:\n    return x\n\n\n"
        "def beta(x: int) -> int:\n    return x\n\n\n"
        "def gamma(x: int) -> int:\n    return x\n"
    ),
    "pkg/one.py": "from pkg import util\n\n\ndef one() -> int:\n    return util.alpha(1)\n",
    "pkg/two.py": "from pkg import util\n\n\ndef two() -> int:\n    return util.alpha(2)\n",
    "pkg/task.py": "from pkg import util\n\n\ndef task() -> int:\n    return util.alpha(3)\n",
}
# the other files' buffers while the user edits them: every user of util uses beta
EDITED = {
    "pkg/one.py": "from pkg import util\n\n\ndef one() -> int:\n    return util.beta(1)\n",
    "pkg/two.py": "from pkg import util\n\n\ndef two() -> int:\n    return util.beta(2)\n",
}


def _engine(root: Path, cache: Path) -> ContextEngine:
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    engine = ContextEngine(root, cache, workers=1)
    engine.build()
    return engine


def test_closed_buffers_leave_no_trace_in_the_selection(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "ws", tmp_path / "cache")
    for rel, text in EDITED.items():
        engine.open(rel, 2, text)
    while_open = engine.select("pkg/task.py", 4, 4, 1024).to_json()
    for rel in EDITED:
        engine.close(rel)
    after = engine.select("pkg/task.py", 4, 4, 1024).to_json()
    fresh = _engine(tmp_path / "ws2", tmp_path / "cache2").select("pkg/task.py", 4, 4, 1024)
    assert after == fresh.to_json()
    assert while_open != after  # (the buffers did change what was chosen meanwhile)
