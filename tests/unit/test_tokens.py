"""Token counts: the Rust tokenizer loaded alone counts as bpe-openai's wrapper does."""

from __future__ import annotations

import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from agentls.model.tokens import ENCODING, count_tokens

SAMPLES = [
    "hello world",
    "def f(x):\n    return x + 1\n",
    "<|endoftext|> is text here, not a special token",
    "ünïcödé 漢字 🎉 \r\n\t tabs",
    Path(__file__).read_text(encoding="utf-8"),
]


@cache
def _wrapper() -> Any:
    import bpe_openai

    return bpe_openai.get_encoding(ENCODING)


def _wrapper_counts(texts: list[str]) -> list[int]:
    return [len(_wrapper().encode_ordinary(text)) for text in texts]


def test_counts_match_the_wrapper() -> None:
    assert [count_tokens(t) for t in SAMPLES] == _wrapper_counts(SAMPLES)
    assert count_tokens("") == 0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=200), min_size=1, max_size=5))
def test_counts_match_the_wrapper_on_any_text(texts: list[str]) -> None:
    assert [count_tokens(t) for t in texts] == _wrapper_counts(texts)


def test_counting_does_not_import_the_slow_wrapper() -> None:
    """The wrapper's import decodes three rank tables (seconds of CPU per process)."""
    code = (
        "import sys; from agentls.model.tokens import count_tokens; "
        "n = count_tokens('hello world'); "
        "print(n, 'bpe_openai' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["2", "False"]
