"""A deterministic event loop with a virtual clock, for the edit simulation.

Time only moves when every task waits: ``select`` never blocks, it advances the
clock to the next timer; there is no I/O at all. Callbacks run in asyncio's usual
FIFO order (no ordering real asyncio cannot produce); what varies from seed to
seed are the delays the simulated editors, model and user draw from the seeded
random generator. Work sent to a thread (``asyncio.to_thread``) runs at once and
completes after a random delay, so "the user types while the server plans in a
thread" happens too.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import random
from collections.abc import Callable
from typing import Any


class Deadlock(Exception):
    """Nothing is ready and no timer is set, yet tasks wait: they wait forever."""


class Livelock(Exception):
    """Tasks keep running (or the clock keeps moving) far past any scenario's end."""


# A scenario lasts seconds of virtual time and some thousands of loop turns.
TIME_LIMIT = 3600.0
TURN_LIMIT = 2_000_000
TURN_TIME = 1e-6  # virtual seconds one loop turn takes


class _Selector:
    """No file descriptors: ``select`` only moves the virtual clock."""

    def __init__(self, loop: SimLoop) -> None:
        self.loop = loop
        self.turns = 0

    def select(self, timeout: float | None = None) -> list[Any]:
        if timeout is None:
            raise Deadlock("every task waits and no timer is set")
        self.turns += 1
        if self.turns > TURN_LIMIT or self.loop.now > TIME_LIMIT:
            raise Livelock(f"still running after {self.turns} turns, {self.loop.now:.0f} s")
        # A real loop's turn takes some time: a timer set within the clock's resolution
        # (asyncio runs it as ready) must not leave the clock where it was forever.
        self.loop.now += max(timeout, TURN_TIME)
        return []

    def close(self) -> None:
        pass


class _Executor(concurrent.futures.Executor):
    """Runs the function at once (its arguments are bound now, as a thread would read
    them) and completes its future after a random virtual delay."""

    def __init__(self, loop: SimLoop) -> None:
        self.loop = loop

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            result = fn(*args, **kwargs)
        except BaseException as error:
            self.loop.call_later(self.loop.delay(0.0, 0.3), _settle, future, None, error)
        else:
            self.loop.call_later(self.loop.delay(0.0, 0.3), _settle, future, result, None)
        return future


def _settle(
    future: concurrent.futures.Future[Any], result: Any, error: BaseException | None
) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class SimLoop(asyncio.BaseEventLoop):
    """A single-threaded loop without I/O: every event comes from a timer."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self._selector = _Selector(self)
        self.now = 0.0
        self.rng = random.Random(seed)
        self._default_executor = _Executor(self)  # type: ignore[assignment]

    def time(self) -> float:
        return self.now

    def delay(self, low: float, high: float) -> float:
        return self.rng.uniform(low, high)

    def _process_events(self, event_list: list[Any]) -> None:
        pass

    def _write_to_self(self) -> None:
        pass  # one thread: callbacks "from another thread" are already queued


def run(seed: int, main: Callable[[SimLoop], Any]) -> Any:
    """Run ``main(loop)`` (a coroutine function) to completion on a fresh ``SimLoop``."""
    loop = SimLoop(seed)
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(main(loop))
    finally:
        asyncio.set_event_loop(None)
        loop.close()
