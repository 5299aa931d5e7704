"""``python benchmarks/load/traced_server.py DIR [pygls] [slices]``: agentls over stdio,
with tracemalloc switched on by a signal (and the patches of ``patched_server.py``).

For ``run.py --trace DIR``: the first ``SIGUSR1`` starts tracemalloc (10 frames), each
later one writes a snapshot (``DIR/snapshot-<n>.pickle``). Only what was allocated
after tracing started is in a snapshot, and only what is still alive: started after the
warm-up waves, a snapshot at the end holds exactly what grew over the soak, by where it
was allocated (``compare_snapshots.py``). Tracing slows the server down a lot.
"""

from __future__ import annotations

import signal
import sys
import tracemalloc
from pathlib import Path
from types import FrameType


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    count = 0

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal count
        if not tracemalloc.is_tracing():
            tracemalloc.start(10)
            return
        tracemalloc.take_snapshot().dump(str(out / f"snapshot-{count}.pickle"))
        count += 1

    signal.signal(signal.SIGUSR1, on_signal)
    sys.path.insert(0, str(Path(__file__).parent))
    from patched_server import patch_pygls, patch_slices

    if "pygls" in sys.argv[2:]:
        patch_pygls()
    if "slices" in sys.argv[2:]:
        patch_slices()
    from agentls.cli import main as agentls_main

    agentls_main([])


if __name__ == "__main__":
    main()
