"""Fuzzing power is examples per CPU-second: every statement of the catalogue under fixed
settings (seed 0, no example database), reported in ``extra_info`` (examples_per_second).
Targets (issue 10): ≥ 5 examples/s for trajectory statements, ≥ 100/s for pointwise ones —
read off the report, not asserted (absolute speed depends on the machine)."""

import pytest

from deqverify.campaigns.run import run_campaign
from deqverify.theorems import REGISTRY

EXAMPLES = {"pointwise": 40, "trajectory": 10}


@pytest.mark.parametrize("theorem_id", list(REGISTRY))
def test_examples_per_second(benchmark, theorem_id):
    examples = EXAMPLES[REGISTRY[theorem_id].kind]
    outcome = benchmark.pedantic(run_campaign, args=(theorem_id, None, examples, 0, None),
                                 rounds=1, iterations=1)
    assert outcome.passed, outcome.details
    benchmark.extra_info.update(kind=REGISTRY[theorem_id].kind, examples=outcome.examples,
                                examples_per_second=outcome.examples / benchmark.stats.stats.median)
