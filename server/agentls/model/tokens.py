"""Offline token counts (o200k_base via bpe-openai; no download needed)."""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def _encoding() -> Any:
    import bpe_openai

    return bpe_openai.get_encoding("o200k_base")


def count_tokens(text: str) -> int:
    if not text:
        return 0
    return len(_encoding().encode_ordinary(text))
