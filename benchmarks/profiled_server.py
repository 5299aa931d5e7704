"""``python benchmarks/profiled_server.py OUT.prof``: agentls over stdio under cProfile.

Used by ``run.py --profile DIR``. The profile (of the event-loop thread, where all of
agentls' work runs) is written when the server exits or is terminated.
"""

from __future__ import annotations

import atexit
import cProfile
import signal
import sys


def main() -> None:
    out = sys.argv[1]
    profile = cProfile.Profile()
    dumped = False

    def dump() -> None:
        nonlocal dumped
        if not dumped:
            dumped = True
            profile.disable()
            profile.dump_stats(out)

    atexit.register(dump)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    from agentls.cli import main as agentls_main

    profile.enable()
    try:
        agentls_main([])
    finally:
        dump()


if __name__ == "__main__":
    main()
