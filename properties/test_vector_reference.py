"""REF-VEC-*: the linear vector DEQ z = Wz + Ux + b where the properties did not reach it.

REF-VEC-SING  near-singular I − W (σ_min down to 1e-14): the closed-form fixed point is within
              its certified bound (‖F‖ + rounding)/σ_min of the mpmath solve at 50 digits; at
              σ_min ≤ 64·eps·max(1, σ_max) the model refuses with SingularDEQError
REF-VEC-GF    gradient flow on the vector model: the records against scipy's Radau on an
              independent closed-form gradient (written here, not the core's adjoint); every
              record keeps σ_min(I − W) above the flow's event margin
REF-VEC-GF-EDGE a nonlinear vector flow driven to ‖W‖₂L = 1 stops on its event, never past it
REF-VEC-SINGULAR-JACOBIAN a sample whose Newton Jacobian is exactly singular (no fixed point)
              fails alone, unconverged; the others converge as they do alone
REF-VEC-NORM  the per-row 2-norms behind every residual and bound against math.hypot, rows at
              scales 1e-320…1e300 (subnormal to near overflow): within (k + 4)·eps relative (and
              two subnormal spacings)
REF-VEC-FLOOR the solver's stopping test, which computes the (n, k²) rounding floor only where
              a cheap bound says it could matter, decides every sample as the test with the
              floor computed everywhere: residuals drawn around the floor, scales 1e-300…1e300
"""

import mpmath
import numpy as np
import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

import deqverify as dv
from deqverify import reference as ref
from deqverify.core.vector_model import FLOW_MARGIN, SINGULAR_RATIO
from deqverify.theorems.checking import examples_for

EPS = np.finfo(float).eps


def _orthogonal(rng, k):
    q, _ = np.linalg.qr(rng.standard_normal((k, k)))
    return q


@st.composite
def near_singular_problems(draw):
    """(W, U, b, X) with I − W = Q·diag(s)·Rᵀ, σ_min = 10^−e, e ∈ [0, 16]."""
    k, d = draw(st.integers(2, 5)), draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    smallest = 10.0 ** -draw(st.floats(0.0, 16.0))
    singular = np.r_[smallest, rng.uniform(0.5, 2.0, k - 1)]
    A = _orthogonal(rng, k) @ np.diag(singular) @ _orthogonal(rng, k).T
    return np.eye(k) - A, rng.standard_normal((k, d)), rng.standard_normal(k) * 0.3, rng.standard_normal((4, d))


@settings(max_examples=examples_for("pointwise"), deadline=None)
@given(near_singular_problems())
def test_REF_VEC_SING_closed_form_within_its_bound_or_refused(problem):
    W, U, b, X = problem
    k = W.shape[0]
    model = dv.VectorDEQ(k, "identity")
    params = dv.VectorParams(W, U, b, np.ones(k))
    sigma = np.linalg.svd(np.eye(k) - W, compute_uv=False)
    if sigma[-1] <= SINGULAR_RATIO * max(1.0, sigma[0]) / 2:  # clearly singular (svd's own error: below)
        event("refused")
        with pytest.raises(dv.SingularDEQError):
            model.fixed_point(params, X)
        return
    if sigma[-1] <= 2 * SINGULAR_RATIO * max(1.0, sigma[0]):
        return  # the threshold's own rounding band: either answer is honest
    event("solved")
    result = model.fixed_point(params, X)
    with ref.working_precision(50):
        A = mpmath.matrix([[ref.to_mp(v) for v in row] for row in np.eye(k) - W])
        for x, z, bound in zip(X, result.value, result.error_bound):
            p = mpmath.matrix([mpmath.fsum(ref.to_mp(u) * ref.to_mp(v) for u, v in zip(row, x)) + ref.to_mp(c)
                               for row, c in zip(U, b)])
            exact = mpmath.lu_solve(A, p)
            error = ref.to_float(mpmath.sqrt(mpmath.fsum((ref.to_mp(a) - e) ** 2 for a, e in zip(z, exact))))
            # the bound divides by the float64 σ_min, itself off by ≤ k·eps·σ_max (Weyl): allow that
            allowance = bound * (1 + 4 * k * EPS * sigma[0] / sigma[-1])
            assert error <= allowance, (error, bound, sigma[-1])


def linear_vector_gradient(theta, X, targets, k):
    """∇R for R = (1/n)Σ(vᵀz − t)², z = (I − W)⁻¹(Ux + b), with θ = (W, U, b, v) flat:
    a = (I − W)⁻ᵀv, ∂ŷ/∂W = a zᵀ, ∂ŷ/∂U = a xᵀ, ∂ŷ/∂b = a, ∂ŷ/∂v = z."""
    d = X.shape[1]
    W = theta[:k * k].reshape(k, k)
    U = theta[k * k:k * k + k * d].reshape(k, d)
    b, v = theta[k * k + k * d:k * k + k * d + k], theta[-k:]
    A = np.eye(k) - W
    Z = np.linalg.solve(A, (X @ U.T + b).T).T
    a = np.linalg.solve(A.T, v)
    e = 2.0 * (Z @ v - targets) / X.shape[0]
    return np.concatenate([np.outer(a, e @ Z).ravel(), np.outer(a, e @ X).ravel(), a * e.sum(), e @ Z])


@settings(max_examples=examples_for("trajectory"), deadline=None)
@given(k=st.integers(1, 3), seed=st.integers(0, 2**32 - 1), t_max=st.floats(0.1, 2.0))
def test_REF_VEC_GF_vector_flow_matches_an_independent_integration(k, seed, t_max):
    """Both integrations at rtol 1e-10, atol 1e-12 over t ≤ 2 on a smooth risk: they differ by
    ≲ 1e-8 (error growth e^{ℓt}, ℓ the Hessian bound); 1e-6·(1 + |θ|) leaves a factor 100."""
    from scipy.integrate import solve_ivp

    rng = np.random.default_rng(seed)
    d, n = 2, 12
    X = rng.standard_normal((n, d))
    targets = rng.standard_normal(n)
    W = rng.standard_normal((k, k))
    W *= 0.5 / np.linalg.norm(W, 2)
    theta0 = np.concatenate([W.ravel(), 0.5 * rng.standard_normal(k * d), 0.1 * rng.standard_normal(k),
                             0.5 * rng.standard_normal(k)])
    risk = dv.EmpiricalRisk(dv.VectorDEQ(k, "identity"), X, targets)
    run = dv.gradient_flow(risk, theta0, t_max, n_records=5)
    assert run.status is dv.RunStatus.COMPLETED, run.message
    gaps = [np.linalg.svd(np.eye(k) - theta[:k * k].reshape(k, k), compute_uv=False)[-1] for theta in run.theta]
    assert min(gaps) > FLOW_MARGIN
    independent = solve_ivp(lambda _, theta: -linear_vector_gradient(theta, X, targets, k), (0.0, t_max),
                            theta0, method="Radau", t_eval=run.t, rtol=1e-10, atol=1e-12)
    assert independent.success
    assert np.all(np.abs(run.theta - independent.y.T) <= 1e-6 * (1 + np.abs(independent.y.T)))


@settings(max_examples=max(5, examples_for("trajectory") // 4), deadline=None)
@given(k=st.integers(1, 2), activation=st.sampled_from(["tanh", "sigmoid", "softplus"]),
       seed=st.integers(0, 2**32 - 1))
def test_REF_VEC_GF_EDGE_a_flow_driven_to_the_contraction_limit_never_passes_it(k, activation, seed):
    """With U, b, v frozen only W can move, and targets beyond what any contraction reaches
    (σ's saturation, or softplus's 10) drive ‖W‖₂L towards 1. Whatever the integrator manages
    within a budget of 1 000 gradients per method, the run is honest: it ends on its event
    ‖W‖₂L = 1 − margin (SINGULAR_APPROACH) or inside; it never records a state past the
    margin or a non-finite one; a failure says why (the flow stiffens like 1/(1 − ‖W‖₂L))."""
    rng = np.random.default_rng(seed)
    d, n = 2, 8
    X = rng.standard_normal((n, d))
    model = dv.VectorDEQ(k, activation, frozen=("U", "b", "v"))
    lipschitz = model.activation.lipschitz
    W = rng.standard_normal((k, k))
    W *= 0.5 / (np.linalg.norm(W, 2) * lipschitz)
    theta0 = np.concatenate([W.ravel(), 0.1 * rng.standard_normal(k * d), np.full(k, 0.3), np.full(k, 1.0 / k)])
    level = 10.0 if activation == "softplus" else 0.999
    run = dv.gradient_flow(dv.EmpiricalRisk(model, X, np.full(n, level)), theta0, 15.0, n_records=4,
                           max_evaluations=1000)
    event(f"REF-VEC-GF-EDGE: {run.status}")
    assert np.all(np.isfinite(run.theta)) and run.message
    gains = [np.linalg.norm(theta[:k * k].reshape(k, k), 2) * lipschitz for theta in run.theta]
    assert np.all(run.theta[:, k * k:] == theta0[k * k:])  # frozen parts never move
    if run.status is dv.RunStatus.SINGULAR_APPROACH:
        assert all(gain < 1.0 - FLOW_MARGIN for gain in gains[:-1])
        # the event's root is located to solve_ivp's event tolerance (4·eps relative in t),
        # which moves ‖W‖₂L by far less than 1e-9
        assert abs(gains[-1] - (1.0 - FLOW_MARGIN)) <= 1e-9, gains[-1]
    else:
        assert all(gain < 1.0 - FLOW_MARGIN for gain in gains)


@settings(max_examples=examples_for("pointwise"), deadline=None)
@given(k=st.integers(2, 4), seed=st.integers(0, 2**32 - 1), n=st.integers(1, 8))
def test_REF_VEC_SINGULAR_JACOBIAN_a_sample_without_a_fixed_point_fails_alone(k, seed, n):
    """ReLU with W₀₀ = 1 (opted out of the contraction check): where p₀ = (Ux + b)₀ > 0 the
    first equation z₀ = relu(z₀ + …) has no solution and Newton's Jacobian I − diag(s)W is
    exactly singular (s₀ = 1). Those samples must end unconverged, never converged to a
    made-up value; every other sample (p₀ < 0: z₀ = 0, s₀ = 0) converges as it does alone, to
    within both answers' certified bounds (a 1-row product may round differently in BLAS)."""
    rng = np.random.default_rng(seed)
    W = rng.uniform(-0.2, 0.2, (k, k))
    W[0, :] = 0.0
    W[0, 0] = 1.0
    U, b = rng.standard_normal((k, 2)), rng.standard_normal(k) * 0.3
    X = rng.standard_normal((n, 2))
    # 40 iterations: a sample with a root converges in a few Newton steps; the others only
    # need to stay unconverged, which every extra iteration (30 halvings each) just repeats
    model = dv.VectorDEQ(k, "relu", settings=dv.NewtonSettings(max_iter=40), allow_noncontractive=True)
    params = dv.VectorParams(W, U, b, np.ones(k))
    result = model.fixed_point(params, X)
    no_root = (X @ U.T + b)[:, 0] > 0
    assert not np.any(result.converged[no_root])
    if no_root.any():  # and whoever asks for the answers or the risk is told, with a typed error
        with pytest.raises(dv.ConvergenceError, match=f"{no_root.sum()} of {n} samples"):
            result.raise_for_status()
        with pytest.raises(dv.ConvergenceError, match="forward solve failed"):
            dv.EmpiricalRisk(model, X, np.zeros(n)).value_and_gradient(params.flat)
    for i in np.flatnonzero(~no_root):
        alone = model.fixed_point(params, X[i:i + 1])
        assert alone.converged[0] == result.converged[i]
        if alone.converged[0]:
            gap = np.linalg.norm(alone.value[0] - result.value[i])
            assert gap <= alone.error_bound[0] + result.error_bound[i], (gap, alone.error_bound, result.error_bound[i])


@st.composite
def stopping_tests(draw):
    """(z, p, W, L, residual norms, settings, q): rows at scales 10^e, e ∈ [−300, 308.2] (up to
    where the floor's own sum overflows), and residual norms the exact floor (or the
    tolerance) times 10^u, u ∈ [−0.5, 0.5]; rtol may be 0 (an overflowing ‖z‖ then makes the
    tolerance NaN)."""
    from deqverify.core.vector_solve import rounding_floor, row_norms

    k, n = draw(st.integers(1, 8)), draw(st.integers(1, 12))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    top = np.finfo(float).max
    scales = 10.0 ** rng.uniform(-300, 308.2, (n, 1))
    z = np.clip(rng.standard_normal((n, k)) * scales, -top, top)
    with np.errstate(over="ignore"):
        p = np.clip(rng.standard_normal((n, k)) * scales * 10.0 ** rng.uniform(-3, 3, (n, 1)), -top, top)
    q = draw(st.sampled_from([0.3, 0.9, 0.999, 1.5]))
    L = draw(st.sampled_from([0.25, 1.0]))
    W = rng.standard_normal((k, k))
    W *= q / L / np.linalg.norm(W, 2)
    settings_ = dv.NewtonSettings(rtol=draw(st.sampled_from([0.0, 1e-16, 1e-12, 1e-8, 1e-4])),
                                  atol=draw(st.sampled_from([0.0, 1e-300, 1e-12])))
    with np.errstate(over="ignore", invalid="ignore"):
        floor = rounding_floor(z, p, W, L)
        target = np.where(rng.uniform(size=n) < 0.5, floor, settings_.atol + settings_.rtol * row_norms(z))
        target = np.where(np.isfinite(target) & (target > 0), target, rng.uniform(0.5, 2.0, n) * 1e300)
    return z, p, W, L, target * 10.0 ** rng.uniform(-0.5, 0.5, n), settings_, q


OVERFLOWING_NORM = (np.array([[1.5e308, 1.5e308]]), np.zeros((1, 2)), 0.45 * np.eye(2), 1.0, np.array([1e300]),
                    dv.NewtonSettings(rtol=0.0, atol=1e-14), 0.45)
"""rtol = 0 and ‖z‖ = inf from finite entries: the tolerance 0·inf is NaN, so not converged."""
OVERFLOWING_FLOOR = (np.array([[1e307]]), np.array([[1.797e308]]), np.array([[0.5]]), 0.25, np.array([1e300]),
                     dv.NewtonSettings(rtol=1e-16, atol=0.0), 0.125)
"""|W||z| + |p| overflows inside the floor (inf: converged) while the 2-norm bound is finite."""


@settings(max_examples=examples_for("pointwise"), deadline=None)
@given(stopping_tests())
@example(OVERFLOWING_NORM)
@example(OVERFLOWING_FLOOR)
def test_REF_VEC_FLOOR_the_lazy_stopping_test_decides_as_the_full_one(problem):
    from types import SimpleNamespace

    from deqverify.core.vector_solve import _converged, _tolerance, rounding_floor, row_norms

    z, p, W, L, norms, settings_, q = problem
    activation = SimpleNamespace(lipschitz=L)  # the stopping test reads only L
    with np.errstate(over="ignore", invalid="ignore"):
        full = norms <= np.maximum(_tolerance(row_norms(z), settings_, q), rounding_floor(z, p, W, L))
    lazy = _converged(z, p, norms, W, activation, settings_, q, np.linalg.norm(np.abs(W), 2))
    event(f"{int(full.sum())} of {full.size} converged")
    assert np.array_equal(lazy, full)


@settings(max_examples=examples_for("pointwise"), deadline=None)
@given(st.integers(1, 12), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_REF_VEC_NORM_row_norms_against_hypot(k, n, seed):
    import math

    from deqverify.core.vector_solve import row_norms

    rng = np.random.default_rng(seed)
    rows = rng.standard_normal((n, k)) * 10.0 ** rng.uniform(-320, 300, (n, 1))
    rows[rng.uniform(size=(n, k)) < 0.2] = 0.0
    expected = np.array([math.hypot(*row) for row in rows])
    got = row_norms(rows)
    event("subnormal row" if np.any((expected > 0) & (expected < np.finfo(float).tiny)) else "normal rows")
    # k squares summed, a division and a product by the row's scale, a square root: (k + 4) eps
    # relative; a subnormal result has an absolute spacing of 2⁻¹⁰⁷⁴ (here and in hypot's answer)
    assert np.all(np.abs(got - expected) <= (k + 4) * EPS * expected + 2 * 2.0 ** -1074), (got, expected)
