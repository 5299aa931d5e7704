"""``python benchmarks/sdk_floor.py BASE_URL``: CPU of agentls' model client alone.

Reads two streamed replies from the scripted model server with agentls'
``OpenAIChatModel`` (the openai SDK underneath), as the server does but with no
LSP, no document and no edits: the first as a warm-up, the second measured.
Prints one JSON object: chunks and process CPU seconds of the measured stream.
``run.py`` uses it as the reference for "CPU per streamed token".
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from agentls.config import ModelSettings
from agentls.model.base import Message, TextDelta
from agentls.model.openai_chat import OpenAIChatModel


async def consume(model: OpenAIChatModel) -> int:
    chunks = 0
    async for event in model.stream([Message("user", "rewrite it")]):
        if isinstance(event, TextDelta):
            chunks += 1
    return chunks


async def main(base_url: str) -> None:
    model = OpenAIChatModel(ModelSettings(base_url=base_url, name="scripted-model"), {})
    await consume(model)  # warm-up: imports, connection pool
    cpu, wall = time.process_time(), time.perf_counter()
    chunks = await consume(model)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(json.dumps({"chunks": chunks, "cpu_seconds": cpu, "seconds": wall}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
