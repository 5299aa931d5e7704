"""Cancellation's one owner: ``Task.cancel`` stops a task from any host, and the task's
body takes the cancel back (``Task.cancel_handled``) to run its clean-up to the end."""

import asyncio

from agentls.agent.tasks import Task, TaskRegistry, TaskResult


async def body_with_cleanup(task: Task, cleaned: list[str]) -> TaskResult:
    """A body like AgentTask.run: on its own cancel it runs a clean-up that waits with a
    timeout of its own (a revert waiting for the editor) and ends ``cancelled``."""
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        if not task.cancel_handled():
            raise
    current = asyncio.current_task()
    assert current is not None
    cleaned.append(f"cancelling {current.cancelling()}")  # 0: the cancel is taken back
    try:
        async with asyncio.timeout(0.01):  # the editor never answers the revert
            await asyncio.sleep(30)
    except TimeoutError:
        cleaned.append("timed out")
    return TaskResult(task.id, "cancelled", "Cancelled. Reverted.")


async def test_a_cancelled_task_runs_its_cleanup_to_the_end() -> None:
    registry, cleaned = TaskRegistry(), []
    task = registry.new("x", None)
    registry.start(task, lambda t: body_with_cleanup(t, cleaned))
    await asyncio.sleep(0)
    assert task.cancel()
    assert task.runner is not None
    result = await task.runner
    # The cancel taken back: timeouts and task groups of the clean-up work as usual.
    assert (result.status, result.summary, cleaned) == (
        "cancelled",
        "Cancelled. Reverted.",
        ["cancelling 0", "timed out"],
    )
    assert not task.cancel()  # not running any more
    assert registry.cancel(task.id) == []


async def test_the_registry_cancels_through_the_task() -> None:
    registry, cleaned = TaskRegistry(), []
    tasks = [registry.new(f"t{i}", None) for i in range(2)]
    for task in tasks:
        registry.start(task, lambda t: body_with_cleanup(t, cleaned))
    await asyncio.sleep(0)
    assert registry.cancel() == [t.id for t in tasks]
    assert all(t.cancel_requested for t in tasks)
    results = [await t.runner for t in tasks if t.runner is not None]
    assert [r.summary for r in results] == ["Cancelled. Reverted."] * 2
    assert sorted(cleaned) == ["cancelling 0"] * 2 + ["timed out"] * 2


async def test_a_cancel_from_elsewhere_is_not_taken_back() -> None:
    """The server going away cancels the runner itself: the body re-raises."""
    registry, cleaned = TaskRegistry(), []
    task = registry.new("x", None)
    registry.start(task, lambda t: body_with_cleanup(t, cleaned))
    await asyncio.sleep(0)
    assert task.runner is not None
    task.runner.cancel()
    await asyncio.wait([task.runner])
    assert task.runner.cancelled() and cleaned == [] and task.result is None


async def test_a_task_cancelled_while_it_starts_never_runs() -> None:
    """agentls.cancel {} while a run still waits for settings, the model client or its
    progress token (the red team's probe: {cancelled: []}, and the run went on)."""
    registry, ran = TaskRegistry(), []
    task = registry.new("x", None)
    assert registry.cancel() == [task.id]

    async def body(t: Task) -> TaskResult:
        ran.append(t.id)
        return TaskResult(t.id, "done", "ran")

    registry.start(task, body)
    assert task.runner is not None
    result = await task.runner
    assert (result.status, ran) == ("cancelled", [])
    assert not task.cancel()  # ended: nothing more to cancel
