"""``python benchmarks/load/leaks.py``: the two leaks the load benchmark found, alone.

1. pygls 2.1.1: every notification handled by a built-in generator handler
   (``textDocument/didOpen``, ``didChange``, ``didClose``, ``didSave``, ...) leaves its
   ``Future`` in ``JsonRPCProtocol._request_futures`` under a fresh uuid, forever.
2. py-tree-sitter 0.26.1: ``Parser.parse(read_callback)`` keeps every ``bytes`` object
   the callback returned (``agentls.context.trees.parse_in_slices`` parses that way):
   each parse leaks about twice its input.

Prints one line per leak with the measured figure; no server, no network.
"""

from __future__ import annotations

import gc
import logging
import tracemalloc

import tree_sitter
import tree_sitter_python
from lsprotocol import types
from pygls.lsp.server import LanguageServer


def pygls_notifications(count: int = 1000) -> int:
    logging.getLogger("pygls").setLevel(logging.CRITICAL)  # "no available transport"
    server = LanguageServer("leak-check", "1")

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def changed(ls: LanguageServer, params: types.DidChangeTextDocumentParams) -> None:
        pass

    uri = "file:///tmp/leak-check.py"
    item = types.TextDocumentItem(uri=uri, language_id="python", version=0, text="x = 0\n")
    protocol = server.protocol
    protocol._handle_notification(
        types.TEXT_DOCUMENT_DID_OPEN, types.DidOpenTextDocumentParams(text_document=item)
    )
    for version in range(1, count + 1):
        protocol._handle_notification(
            types.TEXT_DOCUMENT_DID_CHANGE,
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text="x = 1\n")],
            ),
        )
    return len(protocol._request_futures)


def tree_sitter_read_callback(parses: int = 500) -> tuple[int, float, float]:
    language = tree_sitter.Language(tree_sitter_python.language())
    data = b"def f(x):\n    return x + 1  # a comment\n" * 500
    parser = tree_sitter.Parser(language)

    def read(offset: int, _: tuple[int, int]) -> bytes:
        return data[offset : offset + 1024]

    kept = []
    for source in (data, read):
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(parses):
            parser.parse(source)
        gc.collect()
        kept.append((tracemalloc.get_traced_memory()[0] - before) / parses)
        tracemalloc.stop()
    return len(data), kept[0], kept[1]


def typing_into_a_comment(keystrokes: int = 1500) -> tuple[int, int, float]:
    """Incremental reparses with a read callback after each keystroke typed at the end
    of a comment line: (reads of the first parse, of the last, MiB kept)."""
    language = tree_sitter.Language(tree_sitter_python.language())
    parser = tree_sitter.Parser(language)
    data = b'"""A module."""\n# notes:\n\n' + b"def f(a, b):\n    return a + b\n\n\n" * 60
    reads = 0

    def read(offset: int, _: tuple[int, int]) -> bytes:
        nonlocal reads
        reads += 1
        return data[offset : offset + 1024]

    tree = parser.parse(read)
    at = data.index(b"# notes:") + len(b"# notes:")
    first = last = 0
    gc.collect()
    tracemalloc.start()
    for k in range(keystrokes):
        piece = b"\n# " if k % 30 == 29 else b"x"
        row = data.count(b"\n", 0, at)
        col = at - (data.rfind(b"\n", 0, at) + 1)
        data = data[:at] + piece + data[at:]
        end = (row + 1, 2) if piece.startswith(b"\n") else (row, col + 1)
        tree.edit(at, at, at + len(piece), (row, col), (row, col), end)
        at += len(piece)
        reads = 0
        tree = parser.parse(read, old_tree=tree)
        first, last = first or reads, reads
    gc.collect()
    kept = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    return first, last, kept


def main() -> None:
    futures = pygls_notifications()
    print(f"pygls: 1 didOpen + 1000 didChange -> {futures} futures kept in _request_futures")
    size, whole, sliced = tree_sitter_read_callback()
    print(
        f"tree-sitter: per parse of {size} bytes, memory kept: {whole:.0f} bytes with bytes "
        f"input, {sliced:.0f} bytes with a read callback"
    )
    first, last, kept = typing_into_a_comment()
    print(
        f"tree-sitter: 1,500 keystrokes at the end of a comment, an incremental reparse "
        f"(read callback) after each: {first} -> {last} reads per parse, {kept:.1f} MiB kept"
    )


if __name__ == "__main__":
    main()
