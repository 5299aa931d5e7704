"""The scripted model server of the Python tests (tests/support/model_server.py), run for
the VS Code end-to-end tests, with a small control API the Node test process scripts it by.

Run from the repository's root with its venv: ``python client-vscode/e2e/model_server.py``.
Prints one JSON line, ``{"baseUrl": ..., "controlUrl": ...}``, then serves until stdin
closes. Both bind 127.0.0.1 on free ports.

Control API (JSON bodies):
- ``POST /enqueue`` a list of steps: ``{"text": ..., "tokensPerSecond"?, "chunk"?,
  "firstByteDelay"?}``, ``{"tools": [[name, arguments], ...], "tokensPerSecond"?}``,
  ``{"hang": true}`` or ``{"error": status}``;
- ``GET /requests``: every chat request so far, ``{"body", "authorization"}``;
- ``POST /clear``: forget the script and the requests.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.model_server import (
    ScriptedModelServer,
    Step,
    error_reply,
    hang_reply,
    text_reply,
    tool_call_reply,
)


class RecordingServer(ScriptedModelServer):
    """Also keeps each chat request's Authorization header (the API key test)."""

    def __init__(self) -> None:
        super().__init__()
        self.authorization: list[str | None] = []

    async def _handle_chat(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            self.authorization.append(request.headers.get("Authorization"))
        return await super()._handle_chat(request)

    def clear(self) -> None:
        super().clear()
        with self._lock:
            self.authorization.clear()


def step_from(spec: dict[str, Any]) -> Step:
    tps = spec.get("tokensPerSecond")
    if "text" in spec:
        return text_reply(
            spec["text"],
            tokens_per_second=tps,
            chunk=spec.get("chunk", "token"),
            first_byte_delay=spec.get("firstByteDelay", 0.0),
        )
    if "tools" in spec:
        calls = [(name, args) for name, args in spec["tools"]]
        return tool_call_reply(calls, text=spec.get("say", ""), tokens_per_second=tps)
    if spec.get("hang"):
        return hang_reply()
    if "error" in spec:
        return error_reply(int(spec["error"]), times=int(spec.get("times", 1)))
    raise ValueError(f"not a step: {spec!r}")


async def main() -> None:
    model = RecordingServer()
    await model.start()

    async def enqueue(request: web.Request) -> web.Response:
        specs = await request.json()
        try:
            model.enqueue(*[step_from(s) for s in specs])
        except (ValueError, KeyError, TypeError) as error:
            return web.json_response({"error": str(error)}, status=400)
        return web.json_response({"queued": len(specs)})

    async def requests(_: web.Request) -> web.Response:
        with model._lock:
            pairs = list(zip(model.requests, model.authorization, strict=False))
        return web.json_response([{"body": b, "authorization": a} for b, a in pairs])

    async def clear(_: web.Request) -> web.Response:
        model.clear()
        return web.json_response({})

    app = web.Application()
    app.router.add_post("/enqueue", enqueue)
    app.router.add_get("/requests", requests)
    app.router.add_post("/clear", clear)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    print(json.dumps({"baseUrl": model.base_url, "controlUrl": f"http://127.0.0.1:{port}"}))
    sys.stdout.flush()
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the test process goes
    await runner.cleanup()
    await model.stop()


if __name__ == "__main__":
    asyncio.run(main())
