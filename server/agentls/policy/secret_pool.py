"""Many texts checked for secret content at once, in worker processes.

detect-secrets' detectors are Python (and hold the GIL): the first scan of a big
workspace checks tens of thousands of files one after the other on one core. Past
``POOL_FROM`` texts they go to a pool of ``spawn``ed processes (one a core, at most
``MAX_WORKERS``; spawned, not forked: the server runs threads), in chunks; the
answers are the same as ``has_secret_content``'s here. Where a pool cannot be made
or breaks, the texts are checked here (logged).
"""

from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing
import os
from collections.abc import Sequence

from agentls.policy.secret_content import has_secret_content

log = logging.getLogger(__name__)

POOL_FROM = 500  # fewer texts than this are checked here (a pool takes ~1 s to start)
MAX_WORKERS = 8
CHUNK = 64


def _workers() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return min(cores, MAX_WORKERS)


def check_texts(texts: Sequence[str], paths: Sequence[str]) -> list[bool]:
    """Whether each text (of the file at the same place in ``paths``) holds a secret."""
    workers = _workers()
    if len(texts) >= POOL_FROM and workers > 1:
        try:
            context = multiprocessing.get_context("spawn")
            with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
                return list(pool.map(has_secret_content, texts, paths, chunksize=CHUNK))
        except (OSError, RuntimeError, concurrent.futures.process.BrokenProcessPool) as error:
            log.warning("secret check without worker processes: %s", error)
    return [has_secret_content(text, path) for text, path in zip(texts, paths, strict=True)]
