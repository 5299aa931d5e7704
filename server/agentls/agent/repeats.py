"""Repetition: a model going round in circles is first told so, then stopped.

Three kinds are watched, each with a steer (a note the model reads) and then a stop:
- the same call (its arguments compared as JSON: spacing and key order do not make a
  new call) with the same result (a re-read of an unchanged file, a search run
  again): its result carries a note from the ``STEER_AT``-th time, and the task stops
  at the ``STOP_AT``-th;
- no progress: steps in a row whose every call was made before with the same result
  (or that failed the same way), or, for a tool that only reads, gave a result it had
  given before (whatever the arguments): a note after ``STALE_STEER`` such steps, a
  stop after ``STALE_STOP``;
- the same verification failure after ``finish``: the second time the model is told it
  is the same, the ``VERIFY_STOP``-th time the task stops with the problems.
The same failing call stops the task at its ``SAME_FAILURE_LIMIT``-th time.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

from agentls.tools.box import ToolOutcome

STEER_AT = 3
STOP_AT = 5
STALE_STEER = 3
STALE_STOP = 6
VERIFY_STOP = 3
SAME_FAILURE_LIMIT = 3


_TIMES = re.compile(r"\b\d+(?:\.\d+)?\s*(?:s|ms|sec|seconds)\b|\b0x[0-9a-f]+\b")


def _arguments(raw: str) -> str:
    """The call's arguments as one text whatever their spacing and key order (as sent,
    when they are not JSON)."""
    try:
        return json.dumps(json.loads(raw or "{}"), sort_keys=True, separators=(",", ":"))
    except (ValueError, RecursionError):
        return raw


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _key(outcome: ToolOutcome) -> tuple[str, str, bool, str]:
    return outcome.call.name, _arguments(outcome.call.arguments), outcome.ok, _digest(outcome.text)


def _short(text: str, most: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= most else text[:most] + " …"


@dataclass
class Repeats:
    calls: dict[tuple[str, str, bool, str], int] = field(default_factory=dict)
    failures: dict[tuple[str, str], int] = field(default_factory=dict)  # by call alone
    results: set[tuple[str, bool, str]] = field(default_factory=set)  # reads' results
    stale_steps: int = 0  # steps in a row that learned nothing new
    verify_failures: dict[str, int] = field(default_factory=dict)
    _new_this_step: bool = False
    _calls_this_step: int = 0

    # -- calls ------------------------------------------------------------------------
    def seen(self, outcome: ToolOutcome, reads: bool = False) -> tuple[str, str]:
        """After a call: (a note to add to its result, or ""; why the task stops, or "").
        ``reads``: the tool only reads, so a result it gave before (for any arguments:
        a read past the end at another offset) teaches nothing new."""
        key = _key(outcome)
        times = self.calls[key] = self.calls.get(key, 0) + 1
        self._calls_this_step += 1
        if reads:
            result = (outcome.call.name, outcome.ok, key[3])
            if result not in self.results:
                self.results.add(result)
                self._new_this_step = True
        elif times == 1:
            self._new_this_step = True
        if not outcome.ok:  # the same failing call, whatever its message says
            call_key = (outcome.call.name, key[1])
            failed = self.failures[call_key] = self.failures.get(call_key, 0) + 1
            if failed >= SAME_FAILURE_LIMIT:
                return "", (
                    f"stopped: the model repeated the same failing call ({outcome.call.name}) "
                    f"{failed} times: {_short(outcome.text)}"
                )
            return "", ""
        if times == 1:
            return "", ""
        call = f"{outcome.call.name} {_short(outcome.call.arguments, 120)}"
        if times >= STOP_AT:
            return "", (
                f"stopped: the model made the same call ({call}) {times} times and got the "
                "same result each time; it was making no progress"
            )
        if times >= STEER_AT:
            return (
                f"\n\n[agentls: you made this exact call {times} times and got the same "
                "result each time; it will not change. Use what you already have, do "
                "something else, or call finish.]"
            ), ""
        return "", ""

    def step_done(self) -> tuple[str, str]:
        """After a step's calls: (a note for the model, or ""; why the task stops, or "")."""
        made, new = self._calls_this_step, self._new_this_step
        self._calls_this_step, self._new_this_step = 0, False
        if made == 0 or new:
            self.stale_steps = 0
            return "", ""
        self.stale_steps += 1
        if self.stale_steps >= STALE_STOP:
            return "", (
                f"stopped: {self.stale_steps} steps in a row repeated earlier calls with the "
                "same results; the model was making no progress"
            )
        if self.stale_steps == STALE_STEER:
            return (
                f"[agentls: your last {self.stale_steps} steps only repeated calls you had "
                "already made, with the same results. Take a different step toward the "
                "task, or call finish and say what stands in the way.]"
            ), ""
        return "", ""

    # -- verification -----------------------------------------------------------------
    def verify_failed(self, problems: str) -> tuple[str, bool]:
        """After a failed verification: (a note for the model, or ""; True: stop now)."""
        key = _TIMES.sub("…", problems.strip())  # "1 failed in 0.03s" is the same failure
        times = self.verify_failures[key] = self.verify_failures.get(key, 0) + 1
        if times >= VERIFY_STOP:
            return "", True
        if times > 1:
            return (
                f"\n\nThis is the same failure as after your last finish ({times} times now). "
                "If these problems are not yours to fix (they were there before the task, "
                "or need something you cannot do), call finish and explain that instead "
                "of trying again."
            ), False
        return "", False
