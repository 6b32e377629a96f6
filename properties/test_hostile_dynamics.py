"""DYN-HOSTILE: gradient flow and descent on a risk that fails somewhere (a user's risk).

R(θ) = ‖θ − c‖² — whose flow θ(t) = c + (θ₀ − c)e^{−2t} and descent θₖ = c + (θ₀ − c)(1 − 2η)ᵏ
are known exactly — except on a region θ₂ ≥ τ where the risk fails: it raises a typed
error (as a model does past its contraction limit), returns a NaN gradient, or an infinite
value. Whatever the failure and wherever it starts, the run returns a Trajectory (never an
exception) whose status names the failure, every record before the last is in the healthy
region and on the exact path, and a flow out of evaluations says so (SOLVER_FAILED).

DYN-EDGE: the same known flow, carried by a DEQ model, stops on the model's own event where
the path leaves the model's well-posed set — θ₂L < 1 for a nondecreasing σ, |θ₂|L < 1 for
any other σ (both sides), |1 − θ₂| > 0 on the starting side for the linear DEQ — and nowhere
else.
"""

import contextlib
import io

import numpy as np
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

import deqverify as dv
from deqverify.core.models import SINGULAR_MARGIN
from deqverify.core.vector_model import FLOW_MARGIN
from deqverify.theorems.checking import examples_for
from deqverify.theorems.strategies import finite_floats
from deqverify.theorems.spec import SINE

FAILURES = {"raise": dv.RunStatus.ILL_POSED, "nan-gradient": dv.RunStatus.NON_FINITE,
            "inf-value": dv.RunStatus.NON_FINITE}


class FailingQuadratic:
    """‖θ − c‖², failing (``mode``) where θ₂ ≥ τ."""

    model = None

    def __init__(self, centre, threshold, mode):
        self.centre, self.threshold, self.mode = np.asarray(centre), threshold, mode
        self.dim = self.centre.size - 1

    def value_and_gradient(self, theta):
        theta = np.asarray(theta, dtype=float)
        value, gradient = float(np.sum((theta - self.centre) ** 2)), 2.0 * (theta - self.centre)
        if theta[-1] >= self.threshold:
            if self.mode == "raise":
                raise dv.ConvergenceError(f"no fixed point at θ₂ = {theta[-1]:.6g}")
            if self.mode == "nan-gradient":
                gradient = np.full_like(gradient, np.nan)
            else:
                value = np.inf
        return value, gradient

    def gradient(self, theta):
        return self.value_and_gradient(theta)[1]


@st.composite
def hostile_problems(draw):
    d = draw(st.integers(1, 3))
    centre = np.r_[[draw(finite_floats(-2.0, 2.0)) for _ in range(d)], draw(finite_floats(-1.0, 3.0))]
    theta0 = np.r_[[draw(finite_floats(-2.0, 2.0)) for _ in range(d)], draw(finite_floats(-1.0, 3.0))]
    threshold = draw(finite_floats(-1.0, 3.0))
    return FailingQuadratic(centre, threshold, draw(st.sampled_from(sorted(FAILURES)))), theta0


@settings(max_examples=examples_for("pointwise"), deadline=None)
@given(hostile_problems(), finite_floats(0.01, 0.4), st.integers(1, 40))
def test_DYN_HOSTILE_descent_stops_with_the_failure_named(problem, step, steps):
    risk, theta0 = problem
    bar = io.StringIO()
    with contextlib.redirect_stderr(bar):
        shown = dv.gradient_descent(risk, theta0, step, steps, progress=True)
    run = dv.gradient_descent(risk, theta0, step, steps)
    # the progress bar shows the run and changes nothing in it
    assert shown.status is run.status and np.array_equal(shown.theta, run.theta, equal_nan=True)
    assert bar.getvalue().endswith("\r")  # cleared at the end
    if run.t[-1] > 0:  # the last count shown is the last step taken
        assert bar.getvalue().rsplit("] ", 1)[-1].startswith(f"{int(run.t[-1])}/{steps}")
    exact = risk.centre + (theta0 - risk.centre) * (1 - 2 * step) ** run.t[:, None]
    # the region is judged on the iterates the descent evaluated (the closed form may round
    # to the other side of θ₂ = τ); they follow the closed form to rounding (checked below)
    hit = np.flatnonzero(run.theta[:, -1] >= risk.threshold)
    event(f"descent: {run.status}")
    if run.status is dv.RunStatus.COMPLETED:
        assert run.t[-1] == steps and not hit.size
    else:  # stopped at the first iterate in the failing region, recorded with NaN
        assert run.status is FAILURES[risk.mode] and str(int(run.t[-1])) in run.message
        assert hit.size and hit[0] == run.t.size - 1 and np.isnan(run.risk[-1])
    healthy = run.theta[:-1] if run.status is not dv.RunStatus.COMPLETED else run.theta
    assert np.all(healthy[:, -1] < risk.threshold)
    np.testing.assert_allclose(run.theta, exact, rtol=1e-12, atol=1e-12)  # a few roundings per step


@settings(max_examples=examples_for("trajectory"), deadline=None)
@given(hostile_problems(), finite_floats(0.1, 3.0), st.sampled_from([None, 12]), st.booleans(),
       st.sampled_from(["DOP853", "Radau", "LSODA"]))
# the regimes a short derandomised run may not draw: a start that raises; a flow pushed into a
# NaN region, by each kind of integrator (DOP853 cannot step around it; Radau's Jacobian meets
# the NaN and raises; LSODA steps through it and "completes"); one pushed into a raising
# region (its NaN trial stages once renamed the failure NON_FINITE); a failure before the
# first record
@example(problem=(FailingQuadratic([0.0, 0.0], -1.0, "raise"), np.array([0.0, 0.5])), t_max=1.0,
         max_evaluations=None, late_records=False, method="DOP853")
@example(problem=(FailingQuadratic([0.0, 3.0], 0.6, "nan-gradient"), np.array([0.0, 0.5])), t_max=3.0,
         max_evaluations=None, late_records=False, method="DOP853")
@example(problem=(FailingQuadratic([0.0, 3.0], 0.6, "nan-gradient"), np.array([0.0, 0.5])), t_max=3.0,
         max_evaluations=None, late_records=False, method="Radau")
@example(problem=(FailingQuadratic([0.0, 3.0], 0.6, "nan-gradient"), np.array([0.0, 0.5])), t_max=3.0,
         max_evaluations=None, late_records=False, method="LSODA")
@example(problem=(FailingQuadratic([0.0, 2.0], -0.5, "raise"), np.array([0.0, -1.0])), t_max=1.0,
         max_evaluations=None, late_records=False, method="DOP853")
@example(problem=(FailingQuadratic([0.0, 3.0], 0.6, "nan-gradient"), np.array([0.0, 0.5])), t_max=3.0,
         max_evaluations=None, late_records=True, method="DOP853")
def test_DYN_HOSTILE_flow_stops_with_the_failure_named(problem, t_max, max_evaluations, late_records, method):
    """``late_records``: records asked only from t_max/2 on, so a flow can fail before its
    first record (the start is then recorded)."""
    risk, theta0 = problem
    options = {"method": method} if max_evaluations is None else {"max_evaluations": max_evaluations, "method": method}
    records = {"t_eval": np.linspace(t_max / 2, t_max, 3)} if late_records else {"n_records": 6}
    run = dv.gradient_flow(risk, theta0, t_max, **records, **options)
    event(f"flow: {run.status}")
    start_fails = theta0[-1] >= risk.threshold
    if run.status is dv.RunStatus.COMPLETED:
        exact = risk.centre + (theta0 - risk.centre) * np.exp(-2 * run.t)[:, None]
        np.testing.assert_allclose(run.theta, exact, rtol=1e-6, atol=1e-8)  # rtol 1e-10 integration
        if risk.mode != "inf-value":  # the flow reads the gradient only: an inf value does not stop it
            assert np.all(run.theta[:, -1] < risk.threshold)
        return
    if start_fails and risk.mode == "raise":
        assert run.status is dv.RunStatus.ILL_POSED and run.t.size == 1
        return
    assert run.status in (FAILURES[risk.mode], dv.RunStatus.SOLVER_FAILED), (run.status, run.message)
    assert np.all(np.isfinite(run.theta)) and run.message  # never a NaN record; the reason is stated
    assert np.all(run.theta[:-1, -1] < risk.threshold)  # every record before the last is healthy
    if late_records and run.t[0] < t_max / 2:  # failed before the first record asked for
        assert run.t.tolist() == [0.0] and np.array_equal(run.theta[0], theta0)


class ModelledQuadratic:
    """‖θ − c‖² carried by a DEQ model: its flow θ(t) = c + (θ₀ − c)e^{−2t} is known, and only
    the model's events (``flow_events``) can stop it — or, with ``poisoned_after`` = t_p, a NaN
    gradient wherever θ is further along the segment θ₀ → c than the path is at t_p."""

    truth = None

    def __init__(self, centre, model, dim=None, start=None, poisoned_after=None):
        self.centre, self.model = np.asarray(centre), model
        self.dim = self.centre.size - 1 if dim is None else dim
        self.start, self.poisoned_after = start, poisoned_after

    def value_and_gradient(self, theta):
        theta = np.asarray(theta)
        gradient = 2.0 * (theta - self.centre)
        if self.poisoned_after is not None:
            direction = self.centre - self.start
            progress = (theta - self.start) @ direction / (direction @ direction)  # 1 − e^{−2t} on the path
            if progress > 1 - np.exp(-2 * self.poisoned_after):
                gradient = np.full_like(gradient, np.nan)
        return float(np.sum((theta - self.centre) ** 2)), gradient

    def gradient(self, theta):
        return self.value_and_gradient(theta)[1]


def stopping_values(model, theta2_start) -> list[float]:
    """The values of θ₂ at which the model's events fire: θ₂L = 1 − margin for every σ and
    θ₂L = −(1 − margin) for a non-monotone one; θ₂ = 1 ∓ margin on the linear DEQ's side."""
    if model.is_linear:
        return [1.0 - SINGULAR_MARGIN if theta2_start < 1.0 else 1.0 + SINGULAR_MARGIN]
    lip = model.activation.lipschitz
    return [(1.0 - SINGULAR_MARGIN) / lip] + ([] if model.activation.monotone else [-(1.0 - SINGULAR_MARGIN) / lip])


@st.composite
def modelled_flows(draw):
    """A model (linear, monotone σ, the non-monotone SINE), a start inside its well-posed set
    and a centre anywhere, so the exact path crosses an edge, on either side, or none."""
    name = draw(st.sampled_from(["identity", "sigmoid", "tanh", "relu", "sine"]))
    model = (dv.LinearDEQ() if name == "identity" else
             dv.SingleIndexDEQ(SINE if name == "sine" else dv.get_activation(name)))
    lip = 1.0 if model.is_linear else model.activation.lipschitz
    low = -3.0 if model.is_linear or model.activation.monotone else -0.99
    start = draw(st.one_of(finite_floats(low, 0.99), finite_floats(1.01, 3.0) if model.is_linear else st.nothing()))
    d = draw(st.integers(1, 2))
    theta0 = np.r_[[draw(finite_floats(-2.0, 2.0)) for _ in range(d)], start / lip]
    centre = np.r_[[draw(finite_floats(-2.0, 2.0)) for _ in range(d)], draw(finite_floats(-4.0, 4.0)) / lip]
    return ModelledQuadratic(centre, model), theta0


@settings(max_examples=examples_for("trajectory"), deadline=None)
@given(modelled_flows(), finite_floats(0.2, 4.0))
# the two edges a short derandomised run may miss: the non-monotone σ's second event (a path
# pulled towards θ₂L = −∞) and a linear DEQ's flow reaching θ₂ = 1 from above
@example(problem=(ModelledQuadratic([0.5, -3.0], dv.SingleIndexDEQ(SINE)), np.array([0.0, 0.5])), t_max=2.0)
@example(problem=(ModelledQuadratic([0.0, 0.0], dv.LinearDEQ()), np.array([0.0, 2.0])), t_max=3.0)
def test_DYN_EDGE_a_flow_stops_where_it_leaves_the_models_well_posed_set(problem, t_max):
    risk, theta0 = problem
    run = dv.gradient_flow(risk, theta0, t_max, n_records=6)
    event(f"DYN-EDGE: {run.status}")
    edges = stopping_values(risk.model, theta0[-1])
    end = risk.centre[-1] + (theta0[-1] - risk.centre[-1]) * np.exp(-2 * t_max)  # θ₂(t_max) on the exact path
    crossings = [b for b in edges if min(theta0[-1], end) < b < max(theta0[-1], end)]
    # ODE tolerances (rtol 1e-10) put θ₂(t_max) within ~1e-9 of the path: an edge that close
    # to the end may or may not be reached, and both outcomes are then right
    near = any(abs(end - b) < 1e-7 for b in edges)
    if run.status is dv.RunStatus.COMPLETED:
        assert not crossings or near, (crossings, run.theta[-1])
        exact = risk.centre + (theta0 - risk.centre) * np.exp(-2 * run.t)[:, None]
        np.testing.assert_allclose(run.theta, exact, rtol=1e-6, atol=1e-8)  # rtol 1e-10 integration
        return
    assert run.status is dv.RunStatus.SINGULAR_APPROACH, (run.status, run.message)
    assert crossings or near, (theta0, risk.centre, run.theta[-1])
    # the event's root is located to ~eps in t, so θ₂ is off by |θ₂'|·δt ≪ 1e-9
    assert min(abs(run.theta[-1, -1] - b) for b in edges) <= 1e-9
    for b in edges:  # every record before the stop on the start's side
        assert np.all((run.theta[:-1, -1] - b) * (theta0[-1] - b) > 0), run.theta[:, -1]


def vector_event(model, theta, theta0) -> float:
    """The vector model's well-posedness margin at θ, computed here: σ_min(I − W) signed by
    det(I − W) relative to the start (linear: a path through the singular set changes its
    sign), 1 − ‖W‖₂L (nonlinear), +inf where non-contractive W is allowed (no event)."""
    k = model.width
    W, W0 = theta[:k * k].reshape(k, k), theta0[:k * k].reshape(k, k)
    if model.is_linear:
        side = np.sign(np.linalg.det(np.eye(k) - W) * np.linalg.det(np.eye(k) - W0))
        return side * np.linalg.svd(np.eye(k) - W, compute_uv=False)[-1] - FLOW_MARGIN
    if model.allow_noncontractive:
        return np.inf
    return 1.0 - np.linalg.norm(W, 2) * model.activation.lipschitz - FLOW_MARGIN


@settings(max_examples=examples_for("trajectory"), deadline=None)
@given(st.integers(1, 3), st.sampled_from(["identity", "tanh", "sigmoid"]), st.booleans(),
       st.integers(0, 2**32 - 1), finite_floats(0.2, 3.0), st.sampled_from(["DOP853", "LSODA", "Radau"]),
       st.booleans())
# a linear path through the singular set (det(I − W) changes sign): an unsigned σ_min(I − W)
# touches 0 only at one instant, and the integrator stepped over it
@example(k=2, activation="identity", allow=False, seed=3, t_max=3.0, method="DOP853", poisoned=False)
# LSODA evaluates the events at the NaN states it steps through (their SVD once raised)
@example(k=2, activation="tanh", allow=False, seed=1, t_max=1.0, method="LSODA", poisoned=True)
@example(k=2, activation="identity", allow=False, seed=0, t_max=2.0, method="LSODA", poisoned=True)
def test_DYN_EDGE_a_vector_flow_stops_where_its_path_leaves_the_models_set(k, activation, allow, seed, t_max,
                                                                          method, poisoned):
    """DYN-EDGE for vector models: the known path θ(t) = c + (θ₀ − c)e^{−2t} carried by a
    VectorDEQ. Its first exit from the well-posed set (σ_min(I − W) > margin, or ‖W‖₂L < 1 −
    margin; none under allow_noncontractive) is located here by bisection of the margin along
    the exact path; the flow must stop there (SINGULAR_APPROACH) or complete having no exit.
    ``poisoned``: the gradient is NaN beyond the path's point at t_max/2; a flow that gets
    there first must end NON_FINITE or SOLVER_FAILED with every record finite and on the path."""
    from scipy.optimize import brentq

    model = dv.VectorDEQ(k, activation, allow_noncontractive=allow and activation != "identity")
    rng = np.random.default_rng(seed)
    d = 2
    lip = model.activation.lipschitz
    W0 = rng.standard_normal((k, k))
    W0 *= rng.uniform(0.0, 0.9) / (np.linalg.norm(W0, 2) * lip)
    theta0 = np.concatenate([W0.ravel(), rng.standard_normal(k * d + 2 * k)])
    centre = theta0 + rng.standard_normal(theta0.size) * rng.uniform(0.5, 3.0)
    poison = t_max / 2 if poisoned else None
    risk = ModelledQuadratic(centre, model, dim=d, start=theta0, poisoned_after=poison)
    run = dv.gradient_flow(risk, theta0, t_max, n_records=5, method=method)
    event(f"DYN-EDGE vector: {run.status}{' (poisoned)' if poisoned else ''}")

    def path(t):
        return centre + (theta0 - centre) * np.exp(-2 * t)

    grid = np.linspace(0.0, t_max, 2001)
    margins = np.array([vector_event(model, path(t), theta0) for t in grid])
    below = np.flatnonzero(margins <= 0)
    exit_time = brentq(lambda t: vector_event(model, path(t), theta0), grid[below[0] - 1], grid[below[0]]) if below.size else None
    # an exit within ODE-tolerance reach of t_max may or may not be seen (rtol 1e-10)
    near = exit_time is not None and t_max - exit_time < 1e-6
    if poisoned and (exit_time is None or exit_time > poison - 1e-6):  # the NaN region comes first
        assert run.status in (dv.RunStatus.NON_FINITE, dv.RunStatus.SOLVER_FAILED, dv.RunStatus.SINGULAR_APPROACH), (
            run.status, run.message)
        assert np.all(np.isfinite(run.theta)) and run.message
        np.testing.assert_allclose(run.theta, np.array([path(t) for t in run.t]), rtol=1e-6, atol=1e-8)
        if method != "Radau":  # the records before the NaN region are kept (Radau's LU raises
            # inside solve_ivp, which then returns nothing: only the start is left)
            reached = max(t for t in np.linspace(0.0, t_max, 5) if t < poison - 1e-9)
            assert run.t[-1] >= reached, (run.t, reached)
        if run.status is not dv.RunStatus.SINGULAR_APPROACH:  # (an exit right at t_max/2 may win)
            return
    if run.status is dv.RunStatus.COMPLETED:
        assert exit_time is None or near, (exit_time, t_max)
        np.testing.assert_allclose(run.theta, np.array([path(t) for t in run.t]), rtol=1e-6, atol=1e-8)
        return
    assert run.status is dv.RunStatus.SINGULAR_APPROACH and exit_time is not None, (run.status, run.message)
    # stopped on the margin (the event's root, to ~eps in t) and at the path's first exit:
    # no grid point before the stop is outside (a tangential exit makes t itself ill-conditioned)
    assert abs(vector_event(model, run.theta[-1], theta0)) <= 1e-8, vector_event(model, run.theta[-1], theta0)
    assert not np.any(margins[grid < run.t[-1] - 1e-6] <= 0), (run.t[-1], exit_time)
    assert all(vector_event(model, theta, theta0) > 0 for theta in run.theta[:-1])
