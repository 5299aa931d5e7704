"""The edit simulation in CI: seeded runs per editor model (see tests/sim/world.py).

``AGENTLS_SIM_SEEDS`` sets the rewrite scenario's seeds per editor (default 10,000),
``AGENTLS_SIM_AGENT_SEEDS`` the agent scenario's (5,000), spread over the machine's
cores; a failure prints its seed and log, and
``python -m tests.sim.run --replay SEED --editor KIND`` replays it. The long soak:
``python -m tests.sim.run --seeds 1000000``.
"""

from __future__ import annotations

import os

import pytest

from tests.sim.editors import KINDS
from tests.sim.run import SCENARIOS, cores, run_many
from tests.sim.world import run_seed

SEEDS = {  # per editor model
    "rewrite": int(os.environ.get("AGENTLS_SIM_SEEDS", "10000")),
    "agent": int(os.environ.get("AGENTLS_SIM_AGENT_SEEDS", "5000")),
}


@pytest.mark.timeout(600)
@pytest.mark.parametrize("scenario", list(SCENARIOS))
@pytest.mark.parametrize("kind", KINDS)
def test_no_seed_garbles_loses_or_misreports(kind: str, scenario: str) -> None:
    seeds = SEEDS[scenario]
    failures, _client_bugs = run_many(kind, 0, seeds, cores(), scenario)
    assert not failures, f"{len(failures)} of {seeds} seeds failed:\n\n" + "\n\n".join(failures[:3])


def test_the_simulation_catches_a_server_that_reads_old_offsets() -> None:
    """The bug of issue 11 put back (the request's range not mapped through the user's
    typing): the simulation must see it."""
    from agentls.edits.documents import DocumentStore

    real = DocumentStore.rebase
    try:
        DocumentStore.rebase = lambda self, span: type(span)(  # type: ignore[method-assign]
            span.uri, self.snapshot(span.uri).seq, span._start, span._end
        )
        caught = [run_seed(seed, "vscode") for seed in range(60)]
    finally:
        DocumentStore.rebase = real  # type: ignore[method-assign]
    assert any(outcome.problems for outcome in caught)
