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

import contextlib
import dataclasses
import types

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from deqverify.core import compiled
from deqverify.core.models import SingleIndexDEQ
from deqverify.core.risk import EmpiricalRisk
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
    within a factor 2 of its value at the reference; through g' ≥ m). The IFT factor
    c = σ'/(1 − θ₂σ') moves by ≤ |θ₂|C₂δ/m² (|dc/du| = |σ''|/(1 − θ₂σ')² ≤ C₂/m², du = θ₂dy),
    so w = (y − t)c by Δw ≤ |c|δ + (|e| + δ)|θ₂|C₂δ/m² plus its own rounding,
    8·eps·|w|(1 + |θ₂|L)/m. The sums over n terms add 2·n·eps·Σ|terms| (recursive summation on
    each path, Higham γₙ). A bound that overflows is inf (rows with |x|·|θ| near 1e308).
    """
    activation = model.activation
    theta1, theta2 = theta[:-1], float(theta[-1])
    m = slope_lower_bound(theta2, activation)
    with compiled.numpy_only():
        solved = model.fixed_point(theta, X)
    settings = model.settings
    with np.errstate(over="ignore", invalid="ignore"):
        y, slope, a = solved.value, solved.slope, X @ theta1
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
    return loss, np.where(np.isnan(gradient), np.inf, gradient)


def kernel_sums_allowance(X, targets, theta1, theta2, y):
    """Bounds on what a kernel reports for rows it answered, against the same sums computed
    in numpy at the kernel's own fixed points y: the two evaluations differ only by rounding.

    a = Xθ₁ differs by ≤ 2d·eps·Σⱼ|xⱼθⱼ| (two summation orders), u = a + θ₂y by Δu = that plus
    2·eps·|θ₂y|. On [u − Δu, u + Δu] the sigmoid's σ' is at most s⁺ = σ'(max(|u| − Δu, 0)) (σ'
    is even and falls with |u|), and so is |σ''| = σ'|1 − 2σ|. So the defect |y − σ(u)| moves
    by ν = 8·eps·(|y| + σ) + s⁺Δu (a few ulps of two exp implementations, and the shift), the
    IFT factor c = σ'/(1 − θ₂σ') by 8·eps·|c|(1 + |θ₂|L)/m + s⁺Δu/m², w = (y − t)c by |y − t|
    times that; sums of n terms by 2n·eps·Σ|terms| (two summation orders, Higham γₙ). A bound
    that overflows (or meets 0·inf) is inf: only rows with |x|·|θ| near 1e308 get there.
    Returns (defect, loss, gradient, allowances for the residual, loss and gradient)."""
    activation = SingleIndexDEQ("sigmoid").activation
    m = slope_lower_bound(theta2, activation)
    n, d = X.shape
    with np.errstate(over="ignore", invalid="ignore"):
        a = X @ theta1
        u = a + theta2 * y
        value, slope = activation.value_and_slope(u)
        defect = np.abs(y - value)
        error = y - targets
        c = slope / (1.0 - theta2 * slope)
        weights = error * c
        shift = 2.0 * d * EPS * (np.abs(X) @ np.abs(theta1)) + 2.0 * EPS * np.abs(theta2 * y)
        steepest = activation.df(np.maximum(np.abs(u) - shift, 0.0))
        noise = 8.0 * EPS * (np.abs(y) + value) + steepest * shift
        delta_weights = np.abs(error) * (8.0 * EPS * np.abs(c) * (1.0 + abs(theta2) * activation.lipschitz) / m
                                         + steepest * shift / m**2)
        loss = float(error @ error)
        gradient = 2.0 * np.append(weights @ X, weights @ y)
        gradient_allowance = 2.0 * np.append(
            delta_weights @ np.abs(X) + 2.0 * n * EPS * (np.abs(weights) @ np.abs(X)),
            delta_weights @ np.abs(y) + 2.0 * n * EPS * (np.abs(weights) @ np.abs(y)))
    gradient_allowance = np.where(np.isnan(gradient_allowance), np.inf, gradient_allowance)
    return defect, loss, gradient, float(np.nanmax(noise, initial=0.0)), 2.0 * n * EPS * loss, gradient_allowance


@contextlib.contextmanager
def recording_scalar_kernel():
    """The compiled kernels with ``scalar_risk_sums`` recording (arguments, answer) per call."""
    kernels, original = compiled.kernels(), compiled._load
    calls = []

    def recording(*args):
        answer = kernels.scalar_risk_sums(*args)
        calls.append((args, answer))
        return answer

    compiled._load = lambda: types.SimpleNamespace(**{**vars(kernels), "scalar_risk_sums": recording})
    try:
        yield calls
    finally:
        compiled._load = original


OVERFLOW = "overflow"
"""A scale drawing about half the rows of X at ±(0.5…1)·1e308, one sign per row, with θ₁ > 2:
finite entries whose products with θ₁ overflow, so that θ₁ᵀx = ±inf on those rows."""


def scalar_property():
    """FAST-SCALAR, on whatever compiled kernels ``compiled.kernels()`` returns."""

    @settings(max_examples=40)
    @given(seed=st.integers(0, 2**32 - 1), n=st.sampled_from([4, 5, 654, 655, 656, 2000]),
           d=st.sampled_from([1, 3, 100]), theta2=st.floats(-60.0, 3.99),
           scale=st.sampled_from([1e-3, 1.0, 30.0, 1e200, OVERFLOW]), nan_row=st.booleans(),
           max_iter=st.sampled_from([1, 2, 3, 100]), tolerance=st.sampled_from([1e-14, 1e-8, 1e-3]))
    # a loose tolerance, where the reported residual (~1e-4) is far above rounding, and rows
    # whose θ₁ᵀx is ±inf among finite ones: both always, whatever the draws reach
    @example(seed=1, n=654, d=3, theta2=3.0, scale=1.0, nan_row=False, max_iter=100, tolerance=1e-3)
    @example(seed=1, n=654, d=3, theta2=0.5, scale=OVERFLOW, nan_row=False, max_iter=100, tolerance=1e-14)
    def prop(seed, n, d, theta2, scale, nan_row, max_iter, tolerance):
        """The sigmoid DEQ (the kernel's activation) at θ₂·L from −15 to 0.9975: the plain
        Newton phase (θ₂L ≥ −10), the pre-activation solver (below), capped iterations that
        leave samples to the numpy path, a NaN row, offsets that overflow, tolerances from
        1e-14 to 1e-3 (where the reported residual is far above rounding), and n = 4, which
        is the per-sample Python path's."""
        rng = np.random.default_rng(seed)
        model = SingleIndexDEQ("sigmoid", settings=NewtonSettings(max_iter=max_iter, atol=tolerance,
                                                                  rtol=tolerance))
        theta = np.append(rng.standard_normal(d), theta2)
        X = rng.standard_normal((n, d)) * (1.0 if scale == OVERFLOW else scale) / np.sqrt(d)
        if scale == OVERFLOW:  # about half the rows: θ₁ᵀx = ±inf (every term of one sign)
            theta[:-1] = np.abs(theta[:-1]) + 2.0
            rows = rng.random(n) < 0.5
            X[rows] = rng.choice([-1.0, 1.0], (rows.sum(), 1)) * rng.uniform(0.5, 1.0, (rows.sum(), d)) * 1e308
        if nan_row:
            X[n // 2, 0] = np.nan
        targets = rng.uniform(0.0, 1.0, n)
        with recording_scalar_kernel() as calls:
            fast_loss, fast_gradient, fast = model.squared_error_sums(theta, X, targets)
        with compiled.numpy_only():
            loss, gradient, reference = model.squared_error_sums(theta, X, targets)
        assert fast.status is reference.status
        # the same iterations on both paths: a sample whose stopping test flips between them
        # needs |step| within a few ulps of its tolerance (probability ~eps per sample)
        assert fast.iterations == reference.iterations
        for (X_block, targets_block, theta1, *_), (sums, declined, y) in calls:
            answered = ~declined
            if not answered.any():
                continue
            (defect, block_loss, block_gradient, residual_allowance, loss_allowance,
             gradient_allowance) = kernel_sums_allowance(X_block[answered], targets_block[answered],
                                                         theta1, theta2, y[answered])
            assert abs(sums[-2] - defect.max()) <= residual_allowance, "residual"
            assert abs(sums[0] - block_loss) <= loss_allowance, "loss"
            assert np.all(np.abs(sums[1:-2] - block_gradient) <= gradient_allowance), "gradient"
            assert sums[-1] <= reference.iterations
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


def test_scalar_gradient_near_the_float_limit_as_on_the_numpy_path():
    """Sub-block sums of ±1e308 that cancel: doubled per sub-block, the first overflows to
    inf and the next brings −inf (NaN); doubled once at the end, as the numpy path does, the
    gradient is finite and within both paths' summation rounding, 2·2n·eps·Σ|w||x| (every
    weight is w = σ(0)σ'(0) = 1/8), of the numpy one."""
    n, d = 8192, 16  # 16 sub-blocks of 4096 rows
    X = np.zeros((n, d))
    X[:4096, 1], X[4096:, 1] = 1.95e305, -1.95e305
    theta = np.zeros(d + 1)
    theta[0] = 1.0
    risk = EmpiricalRisk(SingleIndexDEQ("sigmoid"), X, np.zeros(n))
    gradient = risk.value_and_gradient(theta)[1]
    with compiled.numpy_only():
        reference = risk.value_and_gradient(theta)[1]
    assert np.all(np.isfinite(reference)) and np.all(np.isfinite(gradient))
    weights = np.full(n, 0.125) * (2.0 * 2.0 * 2.0 * n * EPS)  # the factor first: Σ|w||x| overflows
    allowance = np.append(weights @ np.abs(X), weights @ np.full(n, 0.5))
    assert np.all(np.abs(gradient - reference) <= allowance)


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
    "the gradient not doubled":
        ("sums[1:d + 2] *= 2.0", "sums[1:d + 2] *= 1.0"),
    "a declined sub-block counted as answered (its samples never reach the numpy path)":
        ("declined[start:stop] = not answered", "declined[start:stop] = False"),
    "the sigmoid's slope e/(1 + e) instead of e/(1 + e)²":
        ("return (r if z >= 0 else e * r), e * r * r", "return (r if z >= 0 else e * r), e * r"),
    "the residual reported as 0":
        ("residual = max(residual, defect)", "residual = 0.0"),
    "one iteration too many reported":
        ("sums[d + 3] = max(sums[d + 3], used)", "sums[d + 3] = max(sums[d + 3], used + 1)"),
    "an overflowed offset answered (its NaN iterate taken for converged)":
        ("if not (done[i] == 1 and math.isfinite(a[i]) and math.isfinite(defect)",
         "if not (done[i] == 1 and math.isfinite(defect)"),
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
