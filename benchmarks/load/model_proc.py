"""The scripted model server of the load benchmark, in its own process.

``python benchmarks/load/model_proc.py TOKENS_PER_SECOND``: starts
``tests.support.model_server.ScriptedModelServer`` (real HTTP + SSE on 127.0.0.1) and
prints ``ready <base_url>``. Each wave's plan arrives on stdin as one JSON line
``{"wave": n, "tasks": {tag: task}}`` and is acknowledged with ``ok <n>``. Twenty tasks
run at once, so their requests arrive in no fixed order: every request is routed by
the task's tag (``LOADTASK-<wave>-<index>``) found in its user messages, and for a
full-agent task by its turn (the number of assistant messages in the history):

- a rewrite (a request without ``tools``): ``task["reply"]``, streamed;
- a full-agent turn: ``task["turns"][turn]``, a list of ``[name, arguments]`` tool
  calls, streamed after ``task["say"][turn]``.

A request that matches no task, or more than one, or a turn past the script, is
answered with a ``finish`` (or a short text) and reported on stdout as
``anomaly <json>``: the runner counts those as failures.

Run in its own process so that its ~2,000 chunks a second at 20 streams do not share
the client's event loop (and GIL) and distort the client's code action latencies.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.model_server import (  # noqa: E402
    ScriptedModelServer,
    Step,
    text_reply,
    tool_call_reply,
)

TAG = re.compile(r"LOADTASK-(\d+)-(\d+)")


def _user_text(body: dict[str, Any]) -> str:
    parts = []
    for message in body.get("messages") or []:
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts += [p.get("text", "") for p in content if isinstance(p, dict)]
    return "\n".join(parts)


class Router:
    def __init__(self, server: ScriptedModelServer, tps: float) -> None:
        self.server = server
        self.tps = tps
        self.tasks: dict[str, dict[str, Any]] = {}
        self.served = 0

    def anomaly(self, **what: Any) -> None:
        print("anomaly " + json.dumps(what), flush=True)

    def __call__(self, body: dict[str, Any]) -> Step:
        self.server.enqueue(self)  # every request is routed here
        self.served += 1
        if self.served % 50 == 0:  # the recorders grow without bound over a soak
            self.server.requests.clear()
            self.server.chunk_log.clear()
        tags = sorted(set(TAG.findall(_user_text(body))))
        agent = bool(body.get("tools"))
        if len(tags) != 1:
            self.anomaly(kind="tags", tags=tags, agent=agent)
            return self._fallback(agent)
        tag = f"LOADTASK-{tags[0][0]}-{tags[0][1]}"
        task = self.tasks.get(tag)
        if task is None:
            self.anomaly(kind="unknown", tag=tag)
            return self._fallback(agent)
        if not agent:
            if task["kind"] != "rewrite":
                self.anomaly(kind="not-agent", tag=tag)
            return text_reply(task.get("reply", "nothing"), tokens_per_second=self.tps)
        turn = sum(1 for m in body.get("messages") or [] if m.get("role") == "assistant")
        turns = task.get("turns") or []
        if turn >= len(turns):
            self.anomaly(kind="extra-turn", tag=tag, turn=turn, last=_last_tool(body))
            return self._fallback(agent)
        calls = [(name, arguments) for name, arguments in turns[turn]]
        return tool_call_reply(calls, text=task["say"][turn], tokens_per_second=self.tps)

    def _fallback(self, agent: bool) -> Step:
        if agent:
            return tool_call_reply([("finish", {"summary": "load benchmark: unrouted"})])
        return text_reply("```python\npass\n```\n")


def _last_tool(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "tool":
            return str(message.get("content"))[:300]
    return ""


async def main(tps: float) -> None:
    server = ScriptedModelServer()
    await server.start()
    router = Router(server, tps)
    server.enqueue(router)
    print(f"ready {server.base_url}", flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        plan = json.loads(line)
        router.tasks = plan["tasks"]  # tasks of finished waves are done: drop them
        print(f"ok {plan['wave']}", flush=True)
    await server.stop()


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1])))
