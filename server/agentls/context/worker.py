"""A tagging worker process: ``python -m agentls.context.worker ROOT``.

Reads one JSON list of ``[path, language]`` pairs per line on stdin and answers one
JSON list of ``[path, row]`` per line on stdout (``row``: ``index.tags_to_row`` or
null). A plain subprocess, not multiprocessing, so that it never re-runs the
caller's ``__main__`` module.
"""

from __future__ import annotations

import json
import sys

from agentls.context.index import tag_chunk


def main() -> int:
    root = sys.argv[1]
    out = sys.stdout
    for line in sys.stdin:
        chunk = [(path, language) for path, language in json.loads(line)]
        out.write(json.dumps(tag_chunk(root, chunk), separators=(",", ":")) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
