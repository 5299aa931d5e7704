"""Round-three attack: one edit_file call freezes the server's event loop (issue 12,
independent pass).

Issue 12 class 7 moved ``search`` off the event loop (a regex froze it for 44.8 s).
``edit_file`` still matches on the loop: ``WriteTools.edit_file`` (async) calls
``find_edit`` directly, and its last layer runs ``difflib.SequenceMatcher.ratio`` over
every window of the file. A hostile model quotes a long ``old_string`` that is
almost, but not quite, in a file of repeated lines (one it may have written itself
in auto-edit): every window passes the quick filters. Measured: 1,000 lines and a
51-line quote, 20.6 s; 20,000 lines and 151 lines, over 120 s (killed). Meanwhile
the LSP server handles nothing: no keystroke, no cancel, no other task.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from agentls.context.files import WorkspaceFiles
from agentls.tools.workspace import Workspace
from agentls.tools.write import DiskSink, WriteTools

LINE = "value = compute(1)\n"


class Heartbeat:
    """Beats every 10 ms on the event loop; ``longest`` is the longest gap seen."""

    def __init__(self) -> None:
        self.longest = 0.0
        self.task = asyncio.ensure_future(self._beat())

    async def _beat(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            self.longest = max(self.longest, now - last)
            last = now


async def test_a_near_miss_quote_does_not_freeze_the_event_loop(tmp_path: Path) -> None:
    (tmp_path / "data.py").write_text(LINE * 350)
    tools = WriteTools(Workspace(WorkspaceFiles(tmp_path)), DiskSink(tmp_path))
    quote = LINE * 22 + "value = compute(2)\n"

    async def edit() -> object:
        try:
            return await tools.edit_file("data.py", quote, "value = 3\n")
        except Exception as error:  # ToolDenied: no match, as expected
            return error

    heart = Heartbeat()
    await asyncio.sleep(0.05)  # beating
    started = time.monotonic()
    await edit()
    took = time.monotonic() - started
    await asyncio.sleep(0.05)
    heart.task.cancel()
    stall = heart.longest
    assert stall < 0.5, f"the event loop stood still {stall:.2f} s (the call took {took:.2f} s)"
