"""Memory (issue 11): the risk converts X once and solves in blocks, so the extra memory of
building an EmpiricalRisk and evaluating it stays ≤ 1.5× the float64 size of X for any input
layout (numpy reports its allocations to tracemalloc, so the peak is exact, not sampled)."""

import tracemalloc

import numpy as np
import pytest

import deqverify as dv

N, D = 200_000, 20
LIMIT = 1.5


def _layout(X, label):
    return {"C-float64": np.ascontiguousarray(X), "F-float64": np.asfortranarray(X),
            "C-float32": X.astype(np.float32), "F-float32": np.asfortranarray(X.astype(np.float32)),
            "strided": np.repeat(X, 2, axis=1)[:, ::2]}[label]


@pytest.mark.parametrize("model", [dv.SingleIndexDEQ("sigmoid"), dv.VectorDEQ(4, "tanh")],
                         ids=["scalar", "vector-k4"])
@pytest.mark.parametrize("label", ["C-float64", "F-float64", "C-float32", "F-float32", "strided"])
def test_extra_peak_memory_is_at_most_one_and_a_half_X(label, model):
    rng = np.random.default_rng(0)
    X = _layout(rng.standard_normal((N, D)) / 5, label)
    targets = rng.standard_normal(N)
    risk_dim = D
    theta = (np.r_[rng.standard_normal(D) / 5, 0.5] if isinstance(model, dv.SingleIndexDEQ)
             else dv.VectorParams(0.2 * np.eye(4), rng.standard_normal((4, risk_dim)) / 5, np.zeros(4), np.ones(4)))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        risk = dv.EmpiricalRisk(model, X, targets)
        risk.value_and_gradient(theta)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    ratio = peak / (N * D * 8)
    assert ratio <= LIMIT, f"{label}: extra peak {ratio:.2f} × the float64 size of X"


def test_the_measurement_sees_a_planted_extra_copy():
    """The meter can fail: a risk that keeps two float64 copies of X exceeds the limit."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        copies = [X.astype(np.float64, order="F"), X.copy()]
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert len(copies) == 2 and peak / X.nbytes > LIMIT
