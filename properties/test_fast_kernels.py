"""Differential properties of the compiled path (the ``[fast]`` extra, numba) against the numpy
reference, and the planted bugs they must catch. Skipped where numba is not installed
(``tox -e fast`` installs it).

* FAST-SOLVE: REF-VEC-SOLVE (``test_batched_solve.py``, which derives the bound) for the
  compiled kernel: the batched solve of (I − diag(s)W)x = r and its transpose agrees with
  LAPACK's pivoting solve per sample within 16·k·eps·cond₂(Aₙ)·‖xₙ‖, where q = ‖W‖₂L < 1
  (the kernel runs) and where q ≥ 1 (the dispatcher must fall back to pivoting).
* FAST-VECTOR: a vector DEQ's fixed point, statuses, per-sample flags and risk gradient are
  the same on both paths: values within the two certified bounds, statuses identical,
  gradients within 1e-10 relative (both adjoints are solved to within 16·k·eps·κ, κ ≤ (1 +
  q)/(1 − q) ≤ 199 at q ≤ 0.99, then multiplied by bounded factors).
* FAST-SCALAR: the scalar DEQ's risk sums (loss, gradient, status) are the same on both paths:
  statuses identical, iteration counts within one, loss and every gradient entry within the
  bound :func:`scalar_sums_allowance` derives from the two solves' tolerance.
"""

from __future__ import annotations

import dataclasses
import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deqverify.core import compiled
from deqverify.core.models import SingleIndexDEQ
from deqverify.core.solve import EPS, NewtonSettings, Status, slope_lower_bound
from deqverify.core.vector_model import VectorDEQ
from deqverify.core.vector_solve import solve_identity_minus_scaled
from test_batched_solve import planted_module, solve_property

pytest.importorskip("numba")

from deqverify.fast import interleaved_lu, scalar_newton  # noqa: E402  (needs numba: after the skip)


@pytest.fixture(autouse=True)
def compiled_path_switched_on(monkeypatch):
    """This module tests the compiled path itself: a ``DEQVERIFY_FAST=0`` in the caller's
    environment would turn every comparison into numpy against numpy."""
    monkeypatch.delenv("DEQVERIFY_FAST", raising=False)

def test_FAST_SOLVE_matches_the_pivoting_reference():
    solve_property(solve_identity_minus_scaled, "FAST-SOLVE")()


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


def scalar_sums_allowance(model, theta, X, targets):
    """Bounds on |Δloss| and |Δ∇θ| between two evaluations of the scalar risk sums whose
    solves each stop within the Newton tolerance of the root y*.

    Per sample, the two y differ by δ ≤ 2(atol + rtol|y|) (both within the tolerance of y*)
    plus 64·eps·(|y| + 1 + 2σ'(u)(|a| + |θ₂y|))/m (the float64 noise of g = y − σ(a + θ₂y):
    |σ| ≤ 1, and u's rounding reaches σ through σ', which over an interval of width δ stays
    within a factor 2 of its value at the reference; through g' ≥ m). The IFT factor c = σ'/(1 − θ₂σ') moves by ≤ |θ₂|C₂δ/m² (|dc/du| =
    |σ''|/(1 − θ₂σ')² ≤ C₂/m², du = θ₂dy), so w = (y − t)c by Δw ≤ |c|δ + (|e| + δ)|θ₂|C₂δ/m²
    plus its own rounding, 8·eps·|w|(1 + |θ₂|L)/m. The sums over n terms add 2·n·eps·Σ|terms|
    (recursive summation on each path, Higham γₙ).
    """
    activation = model.activation
    theta1, theta2 = theta[:-1], float(theta[-1])
    m = slope_lower_bound(theta2, activation)
    with compiled.numpy_only():
        solved = model.fixed_point(theta, X)
    y, slope, a = solved.value, solved.slope, X @ theta1
    settings = model.settings
    delta = (2.0 * (settings.atol + settings.rtol * np.abs(y))
             + 64.0 * EPS * (np.abs(y) + 1.0 + 2.0 * slope * (np.abs(a) + np.abs(theta2 * y))) / m)
    c = slope / (1.0 - theta2 * slope)
    error = y - targets
    weights = error * c
    curvature = abs(theta2) * activation.curvature_bound / m**2
    delta_weights = (np.abs(c) * delta + (np.abs(error) + delta) * curvature * delta
                     + 8.0 * EPS * np.abs(weights) * (1.0 + abs(theta2) * activation.lipschitz) / m)
    n = y.size
    loss = np.sum(2.0 * np.abs(error) * delta + delta**2) + 2.0 * n * EPS * np.sum(error**2)
    gradient = 2.0 * np.append(delta_weights @ np.abs(X) + 2.0 * n * EPS * (np.abs(weights) @ np.abs(X)),
                               delta_weights @ (np.abs(y) + delta) + np.abs(weights) @ delta
                               + 2.0 * n * EPS * (np.abs(weights) @ np.abs(y)))
    return loss, gradient


def scalar_property():
    """FAST-SCALAR, on whatever compiled kernels ``compiled.kernels()`` returns."""

    @settings(max_examples=40)
    @given(seed=st.integers(0, 2**32 - 1), n=st.sampled_from([3, 5, 654, 655, 656, 2000]),
           d=st.sampled_from([1, 3, 100]), theta2=st.floats(-60.0, 3.99),
           scale=st.sampled_from([1e-3, 1.0, 30.0, 1e200]), nan_row=st.booleans(),
           max_iter=st.sampled_from([1, 2, 3, 100]))
    def prop(seed, n, d, theta2, scale, nan_row, max_iter):
        """The sigmoid DEQ (the kernel's activation) at θ₂·L from −15 to 0.9975: the plain
        Newton phase (θ₂L ≥ −10), the pre-activation solver (below), capped iterations that
        leave samples to the numpy path, a NaN row and offsets that overflow."""
        rng = np.random.default_rng(seed)
        model = SingleIndexDEQ("sigmoid", settings=NewtonSettings(max_iter=max_iter))
        theta = np.append(rng.standard_normal(d), theta2)
        X = rng.standard_normal((n, d)) * scale / np.sqrt(d)
        if nan_row:
            X[n // 2, 0] = np.nan
        targets = rng.uniform(0.0, 1.0, n)
        fast_loss, fast_gradient, fast = model.squared_error_sums(theta, X, targets)
        with compiled.numpy_only():
            loss, gradient, reference = model.squared_error_sums(theta, X, targets)
        assert fast.status is reference.status
        # the two paths' exp may differ by an ulp, which can move one sample across its
        # stopping threshold: one iteration more or less, never a different answer
        assert abs(fast.iterations - reference.iterations) <= 1
        if reference.status is not Status.CONVERGED:
            return
        finite = np.isfinite(gradient)  # an overflowed sum: the same inf or NaN on both paths
        np.testing.assert_array_equal(fast_gradient[~finite], gradient[~finite])
        loss_allowance, gradient_allowance = scalar_sums_allowance(model, theta, X, targets)
        assert abs(fast_loss - loss) <= loss_allowance
        assert np.all(np.abs(fast_gradient - gradient)[finite] <= gradient_allowance[finite])

    return prop


def test_FAST_SCALAR_risk_sums_agree_on_both_paths():
    scalar_property()()


def test_scalar_risk_takes_the_compiled_path_where_it_may(monkeypatch):
    """The sigmoid model with Newton calls the kernel; tanh, a user-built sigmoid and θ₂L < −10
    do not (observed by a kernel that records its calls)."""
    calls = []
    kernels = compiled.kernels()

    def recording(*args):
        calls.append(args)
        return kernels.scalar_risk_sums(*args)

    monkeypatch.setattr(compiled, "_load", lambda: types.SimpleNamespace(
        **{**vars(kernels), "scalar_risk_sums": recording}))
    rng = np.random.default_rng(0)
    X, targets = rng.standard_normal((50, 3)), rng.uniform(0, 1, 50)
    theta = np.array([0.5, -0.2, 1.0, 2.0])
    SingleIndexDEQ("sigmoid").squared_error_sums(theta, X, targets)
    assert len(calls) == 1
    user_sigmoid = dataclasses.replace(SingleIndexDEQ("sigmoid").activation)
    SingleIndexDEQ(user_sigmoid).squared_error_sums(theta, X, targets)
    SingleIndexDEQ("tanh").squared_error_sums(np.array([0.5, -0.2, 1.0, 0.5]), X, targets)
    SingleIndexDEQ("sigmoid").squared_error_sums(np.array([0.5, -0.2, 1.0, -50.0]), X, targets)
    assert len(calls) == 1


# ---- planted bugs: each must be caught by FAST-SOLVE or FAST-SCALAR ---------------------

def _planted_kernel(*changes: tuple[str, str], module=interleaved_lu):
    """A kernel module compiled again from its source with lines changed (uncached)."""
    return planted_module(module, *changes)


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
        solve_property(PLANTED[bug], "FAST-SOLVE")()


def test_vector_solver_takes_the_compiled_path_where_it_may():
    """The dispatcher runs the kernel for q < 1 and LAPACK for q ≥ 1 (observed through the
    planted zero pivot, which only a pivoting solve survives)."""
    W = np.array([[2.0, 0.5], [0.3, 0.1]])
    slope = np.array([[0.5, 0.5]])  # 1 − s₀W₀₀ = 0: a zero leading pivot
    rhs = np.array([[1.0, 2.0]])
    answer = solve_identity_minus_scaled(slope, W, rhs, q=np.linalg.norm(W, 2))
    np.testing.assert_allclose(answer[0], np.linalg.solve(np.eye(2) - slope[0][:, None] * W, rhs[0]))
    assert not np.all(np.isfinite(interleaved_lu.solve_identity_minus_scaled(slope, W, rhs, False)))
    assert compiled.kernels().solve_identity_minus_scaled is interleaved_lu.solve_identity_minus_scaled
    with compiled.numpy_only():
        assert compiled.kernels() is None


def test_FAST_VECTOR_catches_a_planted_kernel_in_the_solver(monkeypatch):
    """The untransposed kernel in the solver itself: Newton's globalisation still finds the
    fixed points (a bad step is refused), but the adjoint is wrong, and FAST-VECTOR's gradient
    clause catches it."""
    planted = _planted_kernel(("weight = W[j, i] if transpose else W[i, j]", "weight = W[i, j]"))
    kernels = types.SimpleNamespace(**{**vars(compiled.kernels()),
                                       "solve_identity_minus_scaled": planted.solve_identity_minus_scaled})
    monkeypatch.setattr(compiled, "_load", lambda: kernels)
    with pytest.raises(AssertionError):
        vector_property()()


def _planted_scalar(*changes: tuple[str, str]):
    """The compiled kernels with a planted scalar kernel in place of the real one."""
    planted = _planted_kernel(*changes, module=scalar_newton)
    kernels = compiled.kernels()
    return types.SimpleNamespace(**{**vars(kernels), "scalar_risk_sums": planted.scalar_risk_sums})


PLANTED_SCALAR = {
    "the last row of every sub-block left out (off by one in the sub-block loop)":
        ("stop = min(start + rows, n)", "stop = min(start + rows, n - 1)"),
    "the θ₂ gradient without its factor 2":
        ("sums[d + 1] += 2.0 * gradient_theta2", "sums[d + 1] += gradient_theta2"),
    "a declined sub-block counted as answered (its samples never reach the numpy path)":
        ("declined[start:stop] = not answered", "declined[start:stop] = False"),
    "the sigmoid's slope e/(1 + e) instead of e/(1 + e)²":
        ("return (r if z >= 0 else e * r), e * r * r", "return (r if z >= 0 else e * r), e * r"),
}


@pytest.mark.parametrize("bug", sorted(PLANTED_SCALAR))
def test_FAST_SCALAR_catches_planted_bug(bug, monkeypatch):
    planted = _planted_scalar(PLANTED_SCALAR[bug])
    monkeypatch.setattr(compiled, "_load", lambda: planted)
    # Hypothesis reports several distinct failing clauses together, as an ExceptionGroup
    with pytest.raises((AssertionError, ExceptionGroup)) as failure:
        scalar_property()()
    if isinstance(failure.value, ExceptionGroup):
        assert failure.value.subgroup(AssertionError) is not None
        assert failure.value.split(AssertionError)[1] is None, "a failure that is not a clause"
