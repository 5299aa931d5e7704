"""``python benchmarks/load/patched_server.py [pygls] [slices]``: agentls over stdio with
the two leaks the load benchmark found patched at run time, for an A/B of the memory
slope (``run.py --server-cmd "python benchmarks/load/patched_server.py pygls slices"``).
No server file is changed.

- ``pygls``: pygls 2.1.1 keeps the ``Future`` of every notification handled by a
  generator handler (its built-in ``didOpen``/``didChange``/``didClose``/``didSave``, ...)
  in ``JsonRPCProtocol._request_futures`` under a fresh uuid, and never removes it
  (``_execute_handler``'s generator branch; the notification callback
  ``_check_handler_result`` does not pop it); so is the future of the user's handler
  each built-in generator handler yields to (``_run_generator``: another uuid, never
  removed either, for requests too). Patched: an entry is removed when its future is
  done (only a running one can be cancelled by ``$/cancelRequest``).
- ``slices``: py-tree-sitter 0.26.1's ``Parser.parse`` with a *read callback* keeps a
  reference to every ``bytes`` the callback returned: each parse leaks about its input
  (~1.9x, in slices). ``agentls.context.trees.parse_in_slices`` parses that way.
  Patched: it parses the whole ``bytes`` at once (no leak; the GIL is held for the
  whole parse, which the slices were there to avoid: a latency cost, not a memory one).
"""

from __future__ import annotations

import sys
from typing import Any


def patch_pygls() -> None:
    from pygls.protocol.json_rpc import JsonRPCProtocol

    original = JsonRPCProtocol._execute_handler

    def execute(self: Any, msg_id: Any, handler: Any, callback: Any, *rest: Any, **kw: Any) -> Any:
        result = original(self, msg_id, handler, callback, *rest, **kw)
        future = self._request_futures.get(msg_id)
        if future is not None:  # a done future cannot be cancelled: forget it
            if future.done():
                self._request_futures.pop(msg_id, None)
            else:
                future.add_done_callback(lambda _: self._request_futures.pop(msg_id, None))
        return result

    JsonRPCProtocol._execute_handler = execute  # type: ignore[method-assign]


def patch_slices() -> None:
    from agentls.context import trees

    def whole(parser: Any, data: bytes, old: Any = None) -> Any:
        return parser.parse(data) if old is None else parser.parse(data, old_tree=old)

    trees.parse_in_slices = whole  # type: ignore[assignment]


def main() -> None:
    if "pygls" in sys.argv[1:]:
        patch_pygls()
    if "slices" in sys.argv[1:]:
        patch_slices()
    from agentls.cli import main as agentls_main

    agentls_main([])


if __name__ == "__main__":
    main()
