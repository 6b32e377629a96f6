"""Solver-core benchmarks B1–B4 (issue 2). Ratios are measured in the same run.

Run: ``tox -e bench`` (or ``pytest benchmarks --benchmark-only``). Each benchmark stores
iterations, residual and status in ``extra_info``; the same-run ratio targets are asserted
here, on medians, because they are what the benchmark exists to guard (never in tests/);
absolute times are only reported.
"""

import contextlib
import time

import numpy as np
import pytest
from scipy.optimize import fixed_point as scipy_fixed_point

import deqverify as dv
from deqverify.core import compiled, solve
from deqverify.core.activations import SIGMOID


def median_seconds(function, repeats=7):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


@pytest.fixture(scope="module")
def big_problem():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1_000_000, 100)) / 10.0
    xi = rng.standard_normal(100)
    theta = np.r_[rng.standard_normal(100), 0.5 / SIGMOID.lipschitz]
    return dv.EmpiricalRisk.from_teacher(dv.SingleIndexDEQ("sigmoid"), X, xi), theta


PATH_TARGETS = {"numpy": 4.5, "compiled": 2.5}
"""B1's same-run ratio targets (value_and_gradient ÷ one X@θ₁ pass at n = 1e6, d = 100, sigmoid):
the numpy core ≤ 4.5 (issue 11; 3.5–4.2 measured), the ``[fast]`` kernel ≤ 2.5 (issue 23;
both products with X per sub-block in L2 and Newton compiled: 2.3 measured on 2026-12-03,
against 3.6 on the numpy path in the same run; two passes over X from memory would be 2)."""


@pytest.mark.parametrize("path", sorted(PATH_TARGETS))
def test_B1_value_and_gradient_vs_one_matvec(benchmark, big_problem, path):
    if path == "compiled" and compiled.kernels() is None:
        pytest.skip("the [fast] extra (numba) is not installed or DEQVERIFY_FAST=0")
    risk, theta = big_problem
    with compiled.numpy_only() if path == "numpy" else contextlib.nullcontext():
        benchmark.pedantic(risk.value_and_gradient, args=(theta,), rounds=7, iterations=1,
                           warmup_rounds=1)
    risk_median = benchmark.stats.stats.median
    matvec_median = median_seconds(lambda: risk.X @ theta[:-1])
    ratio = risk_median / matvec_median
    benchmark.extra_info.update(
        ratio_to_matvec=ratio, matvec_median_s=matvec_median,
        iterations=risk.last_solve.iterations, residual=risk.last_solve.residual,
        status=str(risk.last_solve.status))
    assert ratio <= PATH_TARGETS[path], f"{path}: value_and_gradient / (X @ θ₁) = {ratio:.2f}"


def test_B2_single_sample_latency(benchmark):
    rng = np.random.default_rng(1)
    risk = dv.EmpiricalRisk.from_teacher(dv.SingleIndexDEQ("sigmoid"),
                                         rng.standard_normal((1, 10)), rng.standard_normal(10))
    theta = np.r_[rng.standard_normal(10), 2.0]
    benchmark(risk.value_and_gradient, theta)
    benchmark.extra_info.update(iterations=risk.last_solve.iterations,
                                residual=risk.last_solve.residual,
                                status=str(risk.last_solve.status))
    # B2's target (≤ 50 µs, aim 10) is read off the report: an absolute time is not asserted


@pytest.mark.parametrize("contraction", [0.5, 0.9, 0.99, 0.999])
def test_B3_newton_iterations(benchmark, contraction):
    rng = np.random.default_rng(2)
    offsets = rng.standard_normal(100_000) * 3
    theta2 = contraction / SIGMOID.lipschitz
    result = benchmark(solve.solve_in_chunks, solve.newton, offsets, theta2, SIGMOID,
                       solve.NewtonSettings())
    picard = solve.picard(offsets, theta2, SIGMOID)
    benchmark.extra_info.update(iterations=result.iterations, residual=result.residual,
                                status=str(result.status), picard_iterations=picard.iterations,
                                picard_status=str(picard.status))
    assert result.status is dv.Status.CONVERGED and result.iterations <= 20


def test_B4_newton_vs_scipy_fixed_point(benchmark):
    rng = np.random.default_rng(3)
    offsets = rng.standard_normal(100_000) * 3
    theta2 = 0.9 / SIGMOID.lipschitz
    tolerance = 1e-12

    def scipy_solve():
        return scipy_fixed_point(lambda y: SIGMOID.f(offsets + theta2 * y), SIGMOID.f(offsets),
                                 xtol=tolerance, maxiter=10_000, method="del2")

    settings = solve.NewtonSettings(rtol=tolerance, atol=tolerance)
    result = benchmark(solve.solve_in_chunks, solve.newton, offsets, theta2, SIGMOID, settings)
    scipy_median = median_seconds(scipy_solve)
    ratio = scipy_median / benchmark.stats.stats.median
    reference = scipy_solve()
    benchmark.extra_info.update(speedup_over_scipy=ratio, iterations=result.iterations,
                                residual=result.residual, status=str(result.status),
                                max_abs_difference=float(np.max(np.abs(reference - result.value))))
    assert ratio >= 2.0
