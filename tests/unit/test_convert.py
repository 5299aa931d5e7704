"""lsp/convert.py: the one way between LSP positions and offsets, in every encoding,
across astral-plane characters (UTF-16 surrogate pairs) and CRLF line ends."""

import pytest
from lsprotocol import types

from agentls.edits.documents import DocumentStore, Snapshot
from agentls.edits.text import Encoding, LineIndex
from agentls.lsp.arguments import PositionArg
from agentls.lsp.convert import encoding_of, lsp_position, offset

TEXT = "a😀b\r\n𝄞x😀\r\nend"  # 😀 U+1F600 and 𝄞 U+1D11E: two UTF-16 units, four UTF-8 bytes
# (offset, utf-16 character, utf-8 character, utf-32 character) on each line
LINE0 = [(0, 0, 0, 0), (1, 1, 1, 1), (2, 3, 5, 2), (3, 4, 6, 3)]
LINE1 = [(5, 0, 0, 0), (6, 2, 4, 1), (7, 3, 5, 2), (8, 5, 9, 3)]
UNITS = {"utf-16": 1, "utf-8": 2, "utf-32": 3}


def snapshot_of(text: str) -> Snapshot:
    store = DocumentStore()
    store.open("file:///t.py", 1, text)
    return store.snapshot("file:///t.py")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8", "utf-32"])
def test_astral_characters_and_crlf_both_ways(encoding: Encoding) -> None:
    snapshot = snapshot_of(TEXT)
    column = UNITS[encoding]
    for line, rows in ((0, LINE0), (1, LINE1)):
        for row in rows:
            at, character = row[0], row[column]
            position = types.Position(line=line, character=character)
            assert offset(snapshot, position, encoding) == at
            assert lsp_position(snapshot, at, encoding) == position
    assert lsp_position(snapshot, 10, encoding) == types.Position(line=2, character=0)


def test_a_position_inside_a_surrogate_pair_or_past_the_line_end() -> None:
    index = LineIndex(TEXT)
    # character 2 on line 0 is the second half of 😀: the next character starts there
    assert offset(index, types.Position(line=0, character=2), "utf-16") == 2
    # past the end of line 0 clamps before its \r\n, never between \r and \n
    assert offset(index, types.Position(line=0, character=99), "utf-16") == 3
    assert offset(index, types.Position(line=9, character=0), "utf-16") == len(TEXT)


def test_every_position_value_is_taken() -> None:
    """A command's argument and the core's Position convert as lsprotocol's does."""
    index = LineIndex(TEXT)
    assert offset(index, PositionArg(1, 3), "utf-16") == 7
    assert offset(index, lsp_position(index, 7, "utf-16"), "utf-16") == 7


def test_encoding_of_the_client() -> None:
    assert encoding_of(types.PositionEncodingKind.Utf8) == "utf-8"
    assert encoding_of(types.PositionEncodingKind.Utf32) == "utf-32"
    assert encoding_of(None) == "utf-16"
