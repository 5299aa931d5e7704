"""The user types while agentls works: files, model scripts and the exact texts.

Shared by ``test_typing_neovim.py`` and ``test_typing_emacs.py`` (issue 11, point 4).
Each scenario is a ``moments`` list for ``harness.run_editor``: what the user types
and when (a time after a command is sent, or once the buffer holds some text).

- silent model: ``agentls.run`` on lines 2-4, the user types a line at the top while
  the model has not answered yet;
- inside the region: the user adds a line inside the function being rewritten,
  after three streamed lines; then ``agentls.undo``;
- full agent: the user types at the top between two ``edit_file`` calls;
- during undo: the user types above and below right after ``agentls.undo`` is sent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.editors.harness import (
    EditorRun,
    assert_text,
    assert_versioned_edits,
    check_ok,
    run_editor,
)
from tests.support.model_server import ScriptedModelServer, Step, text_reply, tool_call_reply

SOURCE = '''"""Small arithmetic helpers."""
def sub(a, b):
    result = a - b
    return result


def mul(a, b):
    return a * b
'''

# Lines 2-4 (LSP lines 1-3): the whole function ``sub``.
RANGE = {"start": {"line": 1, "character": 0}, "end": {"line": 4, "character": 0}}
INSTRUCTION = "add type hints, a docstring and input checks"
RUN_ARGS = {"instruction": INSTRUCTION, "mode": "edit", "range": RANGE}

OLD_REGION = "def sub(a, b):\n    result = a - b\n    return result\n"
assert SOURCE.splitlines(keepends=True)[1:4] == OLD_REGION.splitlines(keepends=True)

# No line of the new function equals a line of the old one: while it streams, the
# region is the k finished new lines, then the old lines after the k-th.
NEW_LINES = [
    "def sub(a: float, b: float) -> float:\n",
    '    """Return a minus b."""\n',
    "    if not isinstance(a, (int, float)) or not isinstance(b, (int, float)):\n",
    '        raise TypeError("sub() takes numbers")\n',
    "    difference = a - b\n",
    "    return difference\n",
]
NEW_FUNCTION = "".join(NEW_LINES)
REPLY = "```python\n" + NEW_FUNCTION + "```\n"
EXPECTED = SOURCE.replace(OLD_REGION, NEW_FUNCTION)


def rewrite_reply(**options: Any) -> Step:
    """The model's answer to the rewrite of ``sub``, streamed as ``options`` say."""
    return text_reply(REPLY, **options)


# -- a. typing while the model is silent -----------------------------------------------

SILENCE = 1.0  # seconds before the model sends its first byte
TYPED_TOP = "import os"
SILENT_MOMENTS = [{"after": "run", "ms": 50, "op": "insert_top", "text": TYPED_TOP}]
SILENT_EXPECTED = TYPED_TOP + "\n" + EXPECTED

# -- b. typing inside the region while it streams, then undo ---------------------------

NOTE = "    # user note: b may be negative"
# Once the third new line is in, the user adds a line below the new ``def`` line:
# inside the function, between two lines the agent wrote.
INSIDE_MOMENTS = [
    {
        "after": "text",
        "contains": NEW_LINES[2].strip(),
        "ms": 10,
        "op": "insert_after",
        "match": NEW_LINES[0].strip(),
        "text": NOTE,
    }
]


def stopped_text(k: int) -> str:
    """The file when the stream stopped after ``k`` new lines, with the user's line."""
    old = OLD_REGION.splitlines(keepends=True)
    region = [*NEW_LINES[:1], NOTE + "\n", *NEW_LINES[1:k], *old[k:]]
    return SOURCE.replace(OLD_REGION, "".join(region))


# The undo gives back the old function and keeps the user's line, and its message says
# so: where it was typed (under the first line, when the merge can tell by characters),
# or right after the restored code (line 5, named in the message) when the agent's
# lines around it have no counterpart in the old function.
INSIDE_UNDONE = (
    SOURCE.replace("def sub(a, b):\n", "def sub(a, b):\n" + NOTE + "\n", 1),
    SOURCE.replace(OLD_REGION, OLD_REGION + NOTE + "\n"),
)
assert OLD_REGION.startswith("def sub(a, b):\n") and SOURCE not in INSIDE_UNDONE

# -- c. typing while the full agent edits the open buffer ------------------------------

AGENT_ARGS = {"instruction": "tidy up the helpers", "mode": "edit"}
AGENT_SETTINGS = {"agent": {"approval": "auto-edit"}}
AGENT_EDITS = [
    ("    return a * b\n", "    return a * b  # the product\n"),
    ("    result = a - b\n", "    result = float(a) - float(b)\n"),
]
TYPED_BETWEEN = "# typed while the agent works"
# 0.3 s after the first edit is in the buffer: the model is streaming its next call.
BETWEEN_MOMENTS = [
    {
        "after": "text",
        "contains": "# the product",
        "ms": 300,
        "op": "insert_top",
        "text": TYPED_BETWEEN,
    }
]


def with_edits(text: str, count: int) -> str:
    """``text`` with the first ``count`` of the agent's edits."""
    for old, new in AGENT_EDITS[:count]:
        assert text.count(old) == 1
        text = text.replace(old, new)
    return text


AGENT_EXPECTED = TYPED_BETWEEN + "\n" + with_edits(SOURCE, 2)


class EditingAgent:
    """A scripted model that makes ``AGENT_EDITS`` with ``edit_file``, one per reply.

    Enqueue the same instance once per request it may answer. When a tool answer
    does not say the edit was made, it reads the file again, as it is told to, and
    redoes the edit only if the file does not hold it yet. ``refusals`` keeps those
    answers. The second reply streams slowly (``tokens_per_second``): the model is
    "thinking" between two calls.
    """

    def __init__(self, path: str = "calc.py", tokens_per_second: float | None = 3.0) -> None:
        self.path = path
        self.tokens_per_second = tokens_per_second
        self.done = 0  # edits made
        self.reading = False
        self.refusals: list[str] = []
        self.replies = 0

    def __call__(self, body: dict[str, Any]) -> Step:
        messages = body.get("messages") or []
        last = messages[-1] if messages else {}
        if last.get("role") == "tool":
            answer = str(last.get("content"))
            if self.reading:  # the file, read again
                self.reading = False
                if AGENT_EDITS[self.done][1].rstrip("\n") in answer:
                    self.done += 1  # the edit is there after all
            elif "edited at" in answer:
                self.done += 1
            elif self.done < len(AGENT_EDITS):
                self.refusals.append(answer)
                self.reading = True
                return self._reply([("read_file", {"path": self.path})])
        if self.done < len(AGENT_EDITS):
            old, new = AGENT_EDITS[self.done]
            edit = {"path": self.path, "old_string": old.rstrip("\n"), "new_string": new.rstrip()}
            return self._reply([("edit_file", edit)])
        return self._reply([("finish", {"summary": "typed sub, noted mul"})])

    def _reply(self, calls: list[tuple[str, dict[str, Any] | str]]) -> Step:
        self.replies += 1
        slow = self.tokens_per_second if self.replies == 2 else None
        return tool_call_reply(calls, tokens_per_second=slow)


# -- d. typing during undo --------------------------------------------------------------

UNDO_MOMENTS = [
    {"after": "undo", "ms": 0, "op": "insert_top", "text": "# typed during the undo"},
    {"after": "undo", "ms": 150, "op": "append_last", "text": "  # and at the end"},
]


def with_undo_typing(text: str) -> str:
    """``text`` with the typing of ``UNDO_MOMENTS`` (above and after the last line)."""
    lines = text.splitlines(keepends=True)
    lines.insert(0, "# typed during the undo\n")
    lines[-1] = lines[-1].rstrip("\n") + "  # and at the end\n"
    return "".join(lines)


assert with_undo_typing(SOURCE).endswith("    return a * b  # and at the end\n")


# -- the flows and their checks, for either editor ---------------------------------------


def _uri(tmp_path: Path) -> str:
    return (tmp_path / "ws" / "calc.py").as_uri()


def _moments(run: EditorRun, count: int) -> list[dict[str, Any]]:
    """The typed moments; fails unless there are ``count``, all typed without error."""
    moments = list(run.output.get("moments") or [])
    assert len(moments) == count, f"expected {count} typed moments\n{run.explain()}"
    assert all(m.get("error") is None for m in moments), run.explain()
    return moments


def typing_while_the_model_is_silent(
    editor: str, model: ScriptedModelServer, tmp_path: Path, **options: Any
) -> EditorRun:
    """a. ``agentls.run`` on lines 2-4; 50 ms later (the model silent for 1 s more)
    the user types ``import os`` + newline at the top."""
    model.enqueue(rewrite_reply(first_byte_delay=SILENCE, tokens_per_second=100))
    run = run_editor(
        editor, tmp_path, model, SOURCE, run_args=RUN_ARGS, moments=SILENT_MOMENTS, **options
    )
    check_ok(run)
    (moment,) = _moments(run, 1)
    # The user typed before anything was written, well within the model's silence.
    assert moment["text"] == SILENT_EXPECTED.replace(NEW_FUNCTION, OLD_REGION), run.explain()
    assert moment["at_ms"] - run.output["executed_ms"] < 1000 * SILENCE, run.explain()
    assert_text(run, run.output["text"], SILENT_EXPECTED, "typing while the model is silent")
    assert run.result["status"] == "done", run.explain()
    assert run.result["editedFiles"] == [_uri(tmp_path)], run.explain()
    assert_versioned_edits(run)
    return run


def typing_inside_the_region_then_undo(
    editor: str, model: ScriptedModelServer, tmp_path: Path, **options: Any
) -> EditorRun:
    """b. The rewrite streams a line every 1/3 s; once the third new line is in, the
    user adds a line below the new ``def`` line. The task stops and keeps what is
    there; ``agentls.undo`` gives back the old function with the user's line (or
    refuses, naming that line)."""
    model.enqueue(rewrite_reply(chunk="line", tokens_per_second=3))
    run = run_editor(
        editor,
        tmp_path,
        model,
        SOURCE,
        run_args=RUN_ARGS,
        moments=INSIDE_MOMENTS,
        undo=True,
        **options,
    )
    check_ok(run)
    (moment,) = _moments(run, 1)
    typed = moment["text"]
    k = next((k for k in range(3, len(NEW_LINES) + 1) if stopped_text(k) == typed), None)
    assert k is not None, f"the user's line went in at an unexpected place: {typed!r}"
    # The task stopped at the user's typing: its lines and the user's stay as they were.
    assert_text(run, run.output["text"], typed, "the task stopped at the user's typing")
    result = run.result
    assert result["status"] == "cancelled", run.explain()
    assert result["editedFiles"] == [_uri(tmp_path)], run.explain()
    summary = result["summary"]
    assert "Nothing was overwritten" not in summary and "undo" in summary, run.explain()

    undo = run.output["undo_result"]
    message = undo.get("message") or ""
    if undo["status"] == "undone":
        after = run.output["text_after_undo"]
        placed = INSIDE_UNDONE[1] if after == INSIDE_UNDONE[1] else INSIDE_UNDONE[0]
        assert_text(run, after, placed, "agentls.undo")
        assert "kept" in message, run.explain()
        if placed == INSIDE_UNDONE[1]:
            assert "line 5" in message, run.explain()
    else:  # a clean refusal names the user's line and leaves the text alone
        assert undo["status"] == "refused", run.explain()
        assert NOTE.strip() in message, run.explain()
        assert_text(run, run.output["text_after_undo"], typed, "a refused agentls.undo")
    return run


def typing_while_the_agent_edits(
    editor: str, model: ScriptedModelServer, tmp_path: Path, **options: Any
) -> tuple[EditorRun, EditingAgent]:
    """c. The full agent makes two ``edit_file`` calls on the open buffer; the user
    types at the top while the model streams its second call. Then ``agentls.undo``:
    the agent's edits go, the user's line stays (or a clean refusal)."""
    agent = EditingAgent()
    model.enqueue(*[agent] * 8)
    run = run_editor(
        editor,
        tmp_path,
        model,
        SOURCE,
        run_args=AGENT_ARGS,
        settings=AGENT_SETTINGS,
        moments=BETWEEN_MOMENTS,
        undo=True,
        **options,
    )
    check_ok(run)
    run.output["tool answers the model re-read after"] = agent.refusals  # for explain()
    (moment,) = _moments(run, 1)
    between = TYPED_BETWEEN + "\n" + with_edits(SOURCE, 1)
    assert moment["text"] == between, f"not typed between the two edits\n{run.explain()}"
    assert_text(run, run.output["text"], AGENT_EXPECTED, "typing while the agent edits")
    assert run.result["status"] == "done", run.explain()
    assert run.result["editedFiles"] == [_uri(tmp_path)], run.explain()
    assert agent.done == len(AGENT_EDITS), run.explain()

    undo = run.output["undo_result"]
    if undo["status"] == "undone":
        expected = TYPED_BETWEEN + "\n" + SOURCE
        assert_text(run, run.output["text_after_undo"], expected, "agentls.undo")
    else:
        assert undo["status"] == "refused" and "calc.py" in undo["message"], run.explain()
        assert_text(run, run.output["text_after_undo"], AGENT_EXPECTED, "a refused undo")
    return run, agent


def typing_during_the_rewrite_undo(
    editor: str, model: ScriptedModelServer, tmp_path: Path, **options: Any
) -> EditorRun:
    """d. A rewrite of lines 2-4, then ``agentls.undo``; the user types above the
    region right after sending it, and after the last line 150 ms later."""
    model.enqueue(rewrite_reply(tokens_per_second=200))
    run = run_editor(
        editor,
        tmp_path,
        model,
        SOURCE,
        run_args=RUN_ARGS,
        moments=UNDO_MOMENTS,
        undo=True,
        **options,
    )
    check_ok(run)
    assert_text(run, run.output["text"], EXPECTED, "agentls.run")
    assert run.result["status"] == "done", run.explain()
    _moments(run, 2)
    undo = run.output["undo_result"]
    expected = with_undo_typing(SOURCE)
    assert_text(run, run.output["text_after_undo"], expected, "typing during agentls.undo")
    assert undo["status"] == "undone", run.explain()
    return run


def typing_during_the_agent_undo(
    editor: str, model: ScriptedModelServer, tmp_path: Path, **options: Any
) -> EditorRun:
    """d. The full agent's two edits, then ``agentls.undo`` with the same typing: the
    original and the typing (typing elsewhere is no reason to refuse)."""
    agent = EditingAgent(tokens_per_second=None)
    model.enqueue(*[agent] * 8)
    run = run_editor(
        editor,
        tmp_path,
        model,
        SOURCE,
        run_args=AGENT_ARGS,
        settings=AGENT_SETTINGS,
        moments=UNDO_MOMENTS,
        undo=True,
        **options,
    )
    check_ok(run)
    assert_text(run, run.output["text"], with_edits(SOURCE, 2), "the agent's edits")
    _moments(run, 2)
    expected = with_undo_typing(SOURCE)
    assert_text(run, run.output["text_after_undo"], expected, "typing during agentls.undo")
    assert run.output["undo_result"]["status"] == "undone", run.explain()
    return run
