"""Fuzzing the LSP surface over a real server process (raw JSON-RPC on its stdio):
malformed and out-of-range params never crash the server or corrupt its state. After
each generated message a normal request still works, and an open document's text is
still what the editor has (checked through ``agentls.context``, which quotes it)."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

MARK = "fuzz_marker_7c1"
TEXT = f"def {MARK}(value: int) -> int:\n    return value + 1\n"


class RawServer:
    """The server process, spoken to in raw JSON-RPC; its own requests get null."""

    def __init__(self, root: Path, cache: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTLS_"))}
        env["AGENTLS_CACHE_DIR"] = str(cache)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agentls"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self.answers: queue.Queue[dict[str, Any]] = queue.Queue()
        self.next_id = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        while True:
            length = 0
            while (line := self.proc.stdout.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if not line:
                return
            message = json.loads(self.proc.stdout.read(length))
            if "method" in message and "id" in message:  # a request of the server's
                result: Any = None
                if message["method"] == "workspace/configuration":
                    result = [None] * len(message["params"]["items"])
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": result})
            elif "id" in message:
                self.answers.put(message)

    def send(self, message: dict[str, Any] | str) -> None:
        body = (message if isinstance(message, str) else json.dumps(message)).encode()
        assert self.proc.stdin is not None
        with self.lock:
            self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self.proc.stdin.flush()

    def notify(self, method: str, params: Any) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method: str, params: Any, timeout: float = 20) -> dict[str, Any]:
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        while True:
            answer = self.answers.get(timeout=timeout)
            if answer.get("id") == self.next_id:
                return answer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RawServer, str]]:
    base = tmp_path_factory.mktemp("fuzz")
    root = base / "ws"
    root.mkdir()
    (root / "a.py").write_text(TEXT)
    raw = RawServer(root, base / "cache")
    init = raw.request(
        "initialize",
        {"processId": None, "rootUri": root.as_uri(), "capabilities": {}},
    )
    assert "result" in init, init
    raw.notify("initialized", {})
    uri = (root / "a.py").as_uri()
    raw.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": TEXT}},
    )
    scratch = (root / "scratch.py").as_uri()
    raw.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": scratch, "languageId": "python", "version": 1, "text": "x\n"}},
    )
    yield raw, uri
    raw.request("shutdown", None)
    raw.notify("exit", None)
    raw.proc.wait(10)


def still_sane(raw: RawServer, uri: str) -> None:
    assert raw.proc.poll() is None, "the server died"
    status = raw.request("workspace/executeCommand", {"command": "agentls.status", "arguments": []})
    assert "result" in status, status
    context = raw.request(
        "workspace/executeCommand",
        {
            "command": "agentls.context",
            "arguments": [{"uri": uri, "position": {"line": 1, "character": 4}}],
        },
    )
    assert "result" in context, context
    assert f"def {MARK}(value: int) -> int:" in json.dumps(context["result"]), context


json_value = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
number = st.one_of(
    st.integers(-5, 5),
    st.integers(-(2**31), 2**31),
    st.just(10**12),
    st.none(),
    st.text(max_size=3),
)
position = st.one_of(st.fixed_dictionaries({"line": number, "character": number}), json_value)
rng = st.one_of(st.fixed_dictionaries({"start": position, "end": position}), json_value)
COMMANDS = ["agentls.run", "agentls.cancel", "agentls.accept", "agentls.undo", "agentls.status",
            "agentls.context", "agentls.nope"]  # fmt: skip


def document(uri: str) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.fixed_dictionaries({"uri": st.sampled_from([uri, "file:///nowhere/x.py", "", "::"])}),
        st.fixed_dictionaries({"uri": st.sampled_from([uri, "untitled:1"]), "version": number}),
        json_value,
    )


def messages(uri: str, scratch: str) -> st.SearchStrategy[tuple[str, str, Any]]:
    """(kind, method, params): kind "request" or "notify"."""
    arg = st.one_of(
        json_value,
        st.fixed_dictionaries(
            {
                "uri": st.sampled_from([uri, scratch, "file:///nowhere.py", "garbage", "x" * 5000]),
                "instruction": st.one_of(st.text(max_size=5), st.just("y" * 100_000), json_value),
                "position": position,
                "range": rng,
                "mode": st.sampled_from(["edit", "ask", "plan", "nonsense", None]),
                "taskId": json_value,
                "budget": number,
            }
        ),
    )
    execute = st.fixed_dictionaries(
        {
            "command": st.sampled_from(COMMANDS),
            "arguments": st.one_of(st.lists(arg, max_size=3), json_value),
        }
    )
    code_action = st.fixed_dictionaries(
        {
            "textDocument": document(uri),
            "range": rng,
            "context": st.one_of(st.fixed_dictionaries({"diagnostics": json_value}), json_value),
        }
    )
    change = st.fixed_dictionaries(
        {
            "textDocument": st.fixed_dictionaries(
                {"uri": st.sampled_from([scratch, "file:///nowhere.py"]), "version": number}
            ),
            "contentChanges": st.lists(
                st.one_of(
                    st.fixed_dictionaries({"range": rng, "text": st.text(max_size=5)}),
                    st.fixed_dictionaries({"text": st.text(max_size=5)}),
                    json_value,
                ),
                max_size=3,
            ),
        }
    )
    return st.one_of(
        st.tuples(st.just("request"), st.just("workspace/executeCommand"), execute),
        st.tuples(st.just("request"), st.just("workspace/executeCommand"), json_value),
        st.tuples(st.just("request"), st.just("textDocument/codeAction"), code_action),
        st.tuples(st.just("request"), st.just("textDocument/codeAction"), json_value),
        st.tuples(st.just("notify"), st.just("textDocument/didChange"), change),
        st.tuples(st.just("notify"), st.just("textDocument/didChange"), json_value),
        st.tuples(
            st.just("notify"),
            st.sampled_from(
                ["textDocument/didOpen", "textDocument/didClose", "textDocument/didSave"]
            ),
            st.fixed_dictionaries({"textDocument": document("file:///nowhere/y.py")}),
        ),
        st.tuples(
            st.just("notify"),
            st.sampled_from(
                ["workspace/didChangeConfiguration", "workspace/didChangeWatchedFiles"]
            ),
            json_value,
        ),
        st.tuples(
            st.just("request"), st.sampled_from(["textDocument/hover", "bogus/method"]), json_value
        ),
    )


def test_garbage_never_crashes_the_server_or_corrupts_a_document(
    server: tuple[RawServer, str],
) -> None:
    raw, uri = server
    scratch = uri.replace("a.py", "scratch.py")
    still_sane(raw, uri)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(messages(uri, scratch))
    def one(message: tuple[str, str, Any]) -> None:
        kind, method, params = message
        if kind == "request":
            answer = raw.request(method, params)
            assert "result" in answer or "error" in answer
        else:
            raw.notify(method, params)
        still_sane(raw, uri)

    one()


def test_broken_frames_and_json_are_survived(server: tuple[RawServer, str]) -> None:
    raw, uri = server
    raw.send("{not json")
    raw.send('{"jsonrpc": "2.0", "id": 999999, "method": "workspace/executeCommand"}')
    raw.send('{"jsonrpc": "2.0", "method": 5, "params": []}')
    raw.send("[]")
    raw.send('"just a string"')
    still_sane(raw, uri)
