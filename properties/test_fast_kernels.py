"""Differential properties of the compiled path (the ``[fast]`` extra, numba) against the numpy
reference, and the planted bugs they must catch. Skipped where numba is not installed
(``tox -e fast`` installs it).

* FAST-SOLVE: the batched solve of (I − diag(s)W)x = r and its transpose agrees with LAPACK's
  pivoting solve per sample within 16·k·eps·cond₂(Aₙ)·‖xₙ‖ — both are backward stable with
  backward error ≤ c·k·eps·‖A‖ (Higham, Thm 9.4, no pivoting needed where the symmetric part
  is positive definite), so each forward error is ≤ cond·that; 16 covers the two errors and
  the growth factor. This is tested where q = ‖W‖₂L < 1 (the kernel runs) and where q ≥ 1
  (the dispatcher must fall back to pivoting; a zero leading pivot is planted there).
* FAST-VECTOR: a vector DEQ's fixed point, statuses, per-sample flags and risk gradient are
  the same on both paths: values within the two certified bounds, statuses identical,
  gradients within 1e-10 relative (both adjoints are solved to within 16·k·eps·κ, κ ≤ (1 +
  q)/(1 − q) ≤ 199 at q ≤ 0.99, then multiplied by bounded factors).
"""

from __future__ import annotations

import inspect
import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deqverify.core import compiled
from deqverify.core.solve import EPS, NewtonSettings
from deqverify.core.vector_model import VectorDEQ
from deqverify.core.vector_solve import solve_identity_minus_scaled

pytest.importorskip("numba")

from deqverify.fast import interleaved_lu  # noqa: E402  (needs numba: after the skip)


@pytest.fixture(autouse=True)
def compiled_path_switched_on(monkeypatch):
    """This module tests the compiled path itself: a ``DEQVERIFY_FAST=0`` in the caller's
    environment would turn every comparison into numpy against numpy."""
    monkeypatch.delenv("DEQVERIFY_FAST", raising=False)

SOLVE_ALLOWANCE = 16
"""c in |x_fast − x_ref| ≤ c·k·eps·cond₂(A)·‖x_ref‖ (see the module docstring)."""
CONDITION_LIMIT = 1e10
"""Samples with cond₂(A) above this are not compared: a solve there has ≤ 6 correct digits on
either path, and a pivot-free one may lose them all without being wrong by its own standard."""


@st.composite
def scaled_systems(draw):
    """(slope, W, rhs, transpose, q): n systems I − diag(sₙ)W of size k with ‖W‖₂L = q
    (L = 1: slopes in [0, 1]). Where q ≥ 1 the first system's leading pivot is planted at
    exactly 0 (s₀₀W₀₀ = 1): only a pivoting solve answers it."""
    seed = draw(st.integers(0, 2**32 - 1))
    k = draw(st.integers(1, 17))
    n = draw(st.sampled_from([1, 2, 31, 32, 33, 64, 65, 100]))
    q = draw(st.sampled_from([0.1, 0.5, 0.9, 0.99, 1.5, 3.0]))
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((k, k))
    W *= q / np.linalg.norm(W, 2)
    slope = rng.uniform(0.0, 1.0, (n, k))
    if q >= 1.0:
        slope[0, 0] = W[0, 0] = 1.0
        q = np.linalg.norm(W, 2)  # still ≥ |W₀₀| = 1
    rhs = rng.standard_normal((n, k)) * 10.0 ** rng.uniform(-3, 3)
    return slope, W, rhs, draw(st.booleans()), q


def worst_solve_ratio(solver, slope, W, rhs, transpose, q) -> float:
    """max over samples of |x_solver − x_ref| / (16·k·eps·cond₂(Aₙ)·‖x_ref‖), x_ref from
    LAPACK with pivoting per sample; +inf for a non-finite answer where the reference is
    finite. Ill-conditioned samples (cond > 1e10) are left out."""
    k = W.shape[0]
    got = solver(slope, W, rhs, transpose=transpose, q=q)
    worst = 0.0
    for s, r, x in zip(slope, rhs, got):
        A = np.eye(k) - s[:, None] * W
        A = A.T if transpose else A
        condition = np.linalg.cond(A)
        if not condition < CONDITION_LIMIT:
            continue
        reference = np.linalg.solve(A, r)
        if not np.all(np.isfinite(x)):
            return np.inf
        allowed = SOLVE_ALLOWANCE * k * EPS * condition * max(np.linalg.norm(reference), np.finfo(float).tiny)
        worst = max(worst, float(np.linalg.norm(x - reference)) / allowed)
    return worst


def solve_property(solver):
    """FAST-SOLVE for ``solver`` (the dispatcher, or a planted variant of it)."""

    @settings(max_examples=60)
    @given(scaled_systems())
    def prop(system):
        assert worst_solve_ratio(solver, *system) <= 1.0

    return prop


def test_FAST_SOLVE_matches_the_pivoting_reference():
    solve_property(solve_identity_minus_scaled)()


def vector_property():
    """FAST-VECTOR, on whatever compiled kernel ``compiled.kernels()`` returns when it runs."""

    @settings(max_examples=25)
    @given(seed=st.integers(0, 2**32 - 1), k=st.integers(1, 12), n=st.sampled_from([2, 33, 200]),
           q=st.sampled_from([0.3, 0.9, 0.99]), activation=st.sampled_from(["tanh", "sigmoid", "relu", "softplus"]),
           max_iter=st.sampled_from([1, 3, 100]))
    def prop(seed, k, n, q, activation, max_iter):
        """Fixed points (with a NaN row, and Newton capped at ``max_iter`` steps so that some
        samples stay unconverged), statuses, flags and the risk gradient on both paths."""
        rng = np.random.default_rng(seed)
        model = VectorDEQ(k, activation, settings=NewtonSettings(max_iter=max_iter))
        d = 3
        W = rng.standard_normal((k, k))
        W *= q / (np.linalg.norm(W, 2) * model.activation.lipschitz)
        theta = np.concatenate([W.ravel(), rng.standard_normal(k * d), rng.standard_normal(k),
                                rng.standard_normal(k)])
        params = model.params(theta, d)
        offsets = rng.standard_normal((n, d)) @ params.U.T * 3.0 + params.b
        offsets[0] = np.nan  # a flagged sample: the flags must agree
        X, targets = rng.standard_normal((n, d)), rng.standard_normal(n)
        fast = model.solve_offsets(params, offsets)
        fast_risk, fast_gradient, fast_summary = model.squared_error_sums(theta, X, targets)
        with compiled.numpy_only():
            reference = model.solve_offsets(params, offsets)
            risk, gradient, summary = model.squared_error_sums(theta, X, targets)
        assert fast.status is reference.status and fast_summary.status is summary.status
        np.testing.assert_array_equal(fast.converged, reference.converged)
        ok = reference.converged
        assert np.all(np.linalg.norm(fast.value[ok] - reference.value[ok], axis=1)
                      <= fast.error_bound[ok] + reference.error_bound[ok])
        if np.isfinite(risk):
            assert abs(fast_risk - risk) <= 1e-10 * max(abs(risk), 1.0)
            assert np.linalg.norm(fast_gradient - gradient) <= 1e-10 * max(np.linalg.norm(gradient), 1.0)
        else:
            assert not np.isfinite(fast_risk)

    return prop


def test_FAST_VECTOR_solver_and_gradient_agree_on_both_paths():
    vector_property()()


# ---- planted bugs: each must be caught by FAST-SOLVE ------------------------------------

def _planted_kernel(*changes: tuple[str, str]):
    """The kernel module compiled again from its source with lines changed (uncached)."""
    source = inspect.getsource(interleaved_lu)
    for old, new in changes:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    module = types.ModuleType("planted_interleaved_lu")
    exec(compile(source.replace("cache=True", "cache=False"), "<planted>", "exec"), module.__dict__)
    return module


def _dispatcher(kernel_module, ignore_precondition=False):
    def solver(slope, W, rhs, *, transpose=False, q=np.inf):
        if q < 1.0 or ignore_precondition:
            return kernel_module.solve_identity_minus_scaled(slope, W, np.ascontiguousarray(rhs), transpose)
        return solve_identity_minus_scaled(slope, W, rhs, transpose=transpose, q=q)

    return solver


PLANTED = {
    "the last sample of every block left unsolved (off by one in the block loop)":
        # the output zeroed first, so that what is left unsolved is wrong on every run (an
        # uninitialised one may, by chance, hold the right answer from an earlier call)
        _dispatcher(_planted_kernel(("min(start + BLOCK, n), transpose)", "min(start + BLOCK, n) - 1, transpose)"),
                                    ("out = np.empty_like(rhs)", "out = np.zeros_like(rhs)"))),
    "the transposed system built untransposed":
        _dispatcher(_planted_kernel(("weight = W[j, i] if transpose else W[i, j]", "weight = W[i, j]"))),
    "elimination stops one column early":
        _dispatcher(_planted_kernel(("for i in range(p + 1, k):\n", "for i in range(p + 1, k - 1):\n"))),
    "the pivoting fallback dropped (the kernel runs without a contraction)":
        _dispatcher(interleaved_lu, ignore_precondition=True),
}


@pytest.mark.parametrize("bug", sorted(PLANTED))
def test_FAST_SOLVE_catches_planted_bug(bug):
    with pytest.raises(AssertionError):
        solve_property(PLANTED[bug])()


def test_vector_solver_takes_the_compiled_path_where_it_may():
    """The dispatcher runs the kernel for q < 1 and LAPACK for q ≥ 1 (observed through the
    planted zero pivot, which only a pivoting solve survives)."""
    W = np.array([[2.0, 0.5], [0.3, 0.1]])
    slope = np.array([[0.5, 0.5]])  # 1 − s₀W₀₀ = 0: a zero leading pivot
    rhs = np.array([[1.0, 2.0]])
    answer = solve_identity_minus_scaled(slope, W, rhs, q=np.linalg.norm(W, 2))
    np.testing.assert_allclose(answer[0], np.linalg.solve(np.eye(2) - slope[0][:, None] * W, rhs[0]))
    assert not np.all(np.isfinite(interleaved_lu.solve_identity_minus_scaled(slope, W, rhs, False)))
    assert compiled.kernels() is interleaved_lu
    with compiled.numpy_only():
        assert compiled.kernels() is None


def test_FAST_VECTOR_catches_a_planted_kernel_in_the_solver(monkeypatch):
    """The untransposed kernel in the solver itself: Newton's globalisation still finds the
    fixed points (a bad step is refused), but the adjoint is wrong, and FAST-VECTOR's gradient
    clause catches it."""
    planted = _planted_kernel(("weight = W[j, i] if transpose else W[i, j]", "weight = W[i, j]"))
    monkeypatch.setattr(compiled, "_load", lambda: planted)
    with pytest.raises(AssertionError):
        vector_property()()
