"""Offline token counts (o200k_base via bpe-openai's Rust tokenizer; no download needed).

The package's Python wrapper decodes three whole rank tables on import (seconds of CPU
at every server start and in every simulation worker) only to look up special tokens;
the Rust extension it wraps carries its own tables and counts by itself. So the
extension is loaded on its own, and the wrapper is the fallback should that fail.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import logging
from collections.abc import Callable
from functools import cache
from pathlib import Path

log = logging.getLogger(__name__)

ENCODING = "o200k_base"


@cache
def _counter() -> Callable[[str], int]:
    try:
        return _rust_counter()
    except Exception as error:  # an unexpected layout of the package: the slow way
        log.info("bpe-openai's extension not loaded alone (%s): using its wrapper", error)
        import bpe_openai

        encoding = bpe_openai.get_encoding(ENCODING)
        return lambda text: len(encoding.encode_ordinary(text))


def _rust_counter() -> Callable[[str], int]:
    package = importlib.util.find_spec("bpe_openai")
    if package is None or package.origin is None:
        raise ImportError("bpe-openai is not installed")
    path = next(Path(package.origin).parent.glob("_bindings*.so"))
    name = "bpe_openai._bindings"
    loader = importlib.machinery.ExtensionFileLoader(name, str(path))
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    if spec is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    tokenizer = module.tokenizer_for_encoding(ENCODING)
    count: Callable[[str], int] = tokenizer.count
    return count


def count_tokens(text: str) -> int:
    if not text:
        return 0
    return _counter()(text)
