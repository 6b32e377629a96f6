"""Gradient flow θ' = −∇R(θ) (scipy ``solve_ivp``) and gradient descent θₖ₊₁ = θₖ − η∇R(θₖ).

Both return a :class:`Trajectory` recording t, θ, R, the sphere quantity
C(θ) = ‖θ₁‖² + (θ₂−1)² (T3.1), r = ‖θ − (ξ, 0)‖² (T3.8/T3.9), the singular gap |1 − θ₂|
(L3.2) and ‖∇R‖, with a status that says why the run ended.
"""

from __future__ import annotations

import enum
import json
import math
import zipfile
from dataclasses import dataclass, field

import numpy as np
from scipy.integrate import solve_ivp

from deqverify.core.errors import DEQError, InvalidInputError
from deqverify.core.progress import ProgressBar
from deqverify.core.validation import as_count, as_positive, as_theta, as_vector

DIVERGENCE_FACTOR = 1e6
"""Gradient descent reports DIVERGED once R exceeds 10⁶·max(R₀, 1)."""


class RunStatus(enum.Enum):
    COMPLETED = "completed"
    SINGULAR_APPROACH = "singular_approach"
    NON_FINITE = "non_finite"
    ILL_POSED = "ill_posed"
    DIVERGED = "diverged"
    SOLVER_FAILED = "solver_failed"

    def __str__(self):
        return self.value


def sphere(theta: np.ndarray) -> np.ndarray:
    """C(θ) = ‖θ₁‖² + (θ₂ − 1)² = ‖θ − e‖², e = (0, 1)  (T3.1, GD-RADIUS)."""
    theta = np.atleast_2d(theta)
    with np.errstate(over="ignore"):  # beyond 1.8e308 the true C is inf, and inf is the answer
        return np.sum(theta[:, :-1] ** 2, axis=1) + (theta[:, -1] - 1.0) ** 2


@dataclass
class Trajectory:
    """A recorded GF or GD run. Arrays are indexed by record; ``t`` is time (GF) or step (GD)."""

    t: np.ndarray
    theta: np.ndarray
    risk: np.ndarray
    grad_norm: np.ndarray
    truth: np.ndarray
    status: RunStatus
    message: str = ""
    kind: str = "flow"
    info: dict = field(default_factory=dict)

    @property
    def sphere(self) -> np.ndarray:
        """C(θ(t)) along the run."""
        return sphere(self.theta)

    @property
    def distance_to_truth(self) -> np.ndarray:
        """r(t) = ‖θ(t) − (ξ, 0)‖² (inf where it exceeds the float64 range)."""
        with np.errstate(over="ignore", invalid="ignore"):  # a NaN truth (no teacher) gives NaN
            return np.sum((self.theta - self.truth) ** 2, axis=1)

    @property
    def singular_gap(self) -> np.ndarray:
        """|1 − θ₂(t)|."""
        return np.abs(1.0 - self.theta[:, -1])

    @property
    def final_theta(self) -> np.ndarray:
        return self.theta[-1]

    def to_dict(self) -> dict:
        """Plain-Python summary and arrays (lists), JSON-serialisable."""
        return {
            "kind": self.kind, "status": str(self.status), "message": self.message,
            "t": self.t.tolist(), "theta": self.theta.tolist(), "risk": self.risk.tolist(),
            "grad_norm": self.grad_norm.tolist(), "sphere": self.sphere.tolist(),
            "distance_to_truth": self.distance_to_truth.tolist(),
            "singular_gap": self.singular_gap.tolist(), "truth": self.truth.tolist(),
            "info": self.info,
        }

    def save(self, path) -> None:
        """Write the trajectory to ``path`` exactly (no suffix added): a versioned ``.npz``
        with every array, the status, message, kind and ``info`` (as JSON)."""
        with open(path, "wb") as handle:
            np.savez(handle, format_version=TRAJECTORY_FORMAT, t=self.t, theta=self.theta,
                     risk=self.risk, grad_norm=self.grad_norm, truth=self.truth,
                     status=str(self.status), message=self.message, kind=self.kind,
                     info=json.dumps(self.info))

    @classmethod
    def load(cls, path) -> "Trajectory":
        """Read a file written by :meth:`save`; anything else — truncated, edited, another
        version, inconsistent shapes, non-finite times or parameters — raises
        :class:`~deqverify.core.errors.InvalidInputError` saying what is wrong."""
        try:
            with np.load(path, allow_pickle=False) as data:
                fields = {key: data[key] for key in data.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
            raise InvalidInputError(f"{str(path)!r} is not a deqverify trajectory file "
                                    f"({type(error).__name__}: {error})") from None
        return cls._from_fields(fields, str(path))

    @classmethod
    def _from_fields(cls, fields: dict, where: str) -> "Trajectory":
        def bad(reason):
            return InvalidInputError(f"trajectory file {where!r}: {reason}; write it with Trajectory.save")

        missing = sorted({"format_version", "t", "theta", "risk", "grad_norm", "truth", "status",
                          "message", "kind", "info"} - set(fields))
        if missing:
            raise bad(f"missing {missing}")
        version = fields["format_version"]
        if version.shape != () or version.dtype.kind not in "iu" or int(version) != TRAJECTORY_FORMAT:
            raise bad(f"format version {fields['format_version']!r}, this version reads {TRAJECTORY_FORMAT}")
        arrays = {}
        for key in ("t", "theta", "risk", "grad_norm", "truth"):
            if fields[key].dtype.kind != "f":
                raise bad(f"{key} has dtype {fields[key].dtype}")
            arrays[key] = fields[key].astype(np.float64)
        t, theta = arrays["t"], arrays["theta"]
        if t.ndim != 1 or t.size == 0 or theta.ndim != 2 or theta.shape[0] != t.size or theta.shape[1] < 2:
            raise bad(f"shapes t {t.shape} and theta {theta.shape} do not describe one run")
        for key in ("risk", "grad_norm"):
            if arrays[key].shape != t.shape:
                raise bad(f"{key} has shape {arrays[key].shape}, expected {t.shape}")
        if arrays["truth"].shape != (theta.shape[1],):
            raise bad(f"truth has shape {arrays['truth'].shape}, expected ({theta.shape[1]},)")
        if not (np.all(np.isfinite(t)) and np.all(np.isfinite(theta))) or np.any(np.diff(t) < 0):
            raise bad("times and parameters must be finite, times non-decreasing")
        try:
            status = RunStatus(str(fields["status"]))
            info = json.loads(str(fields["info"]))
        except ValueError as error:
            raise bad(str(error)) from None
        kind = str(fields["kind"])
        if kind not in ("flow", "descent") or not isinstance(info, dict):
            raise bad(f"kind {kind!r} / info {type(info).__name__} not a flow or descent record")
        return cls(t=t, theta=theta, risk=arrays["risk"], grad_norm=arrays["grad_norm"],
                   truth=arrays["truth"], status=status, message=str(fields["message"]),
                   kind=kind, info=info)


def _truth(risk, size: int) -> np.ndarray:
    """θ* of the risk, or NaN when it has none (no teacher, or a vector model)."""
    truth = getattr(risk, "truth", None)
    return np.asarray(truth, dtype=float) if truth is not None else np.full(size, np.nan)


def _parameters(risk, theta) -> np.ndarray:
    """θ validated by the risk's model (scalar: length d + 1; vector: k² + kd + 2k); a
    user's risk without a deqverify model gets the scalar layout (θ₁, θ₂)."""
    model = getattr(risk, "model", None)
    if hasattr(model, "as_parameters"):
        return model.as_parameters(theta, risk.dim)
    return as_theta(theta, risk.dim)


def _events(risk, theta0) -> list:
    """The model's terminal events near its ill-posed set (none for a user's risk)."""
    model = getattr(risk, "model", None)
    return model.flow_events(theta0, risk.dim) if hasattr(model, "flow_events") else []


TRAJECTORY_FORMAT = 1
"""Version of the file format written by :meth:`Trajectory.save`."""
STIFF_METHODS = ("Radau", "BDF", "LSODA")
FLOW_METHODS = ("RK45", "RK23", "DOP853", *STIFF_METHODS)
EXPLICIT_BUDGET = 20_000
"""Gradient evaluations an explicit method may spend before the flow is declared stiff."""


STIFF_FALLBACKS = ("LSODA", "BDF")
"""Methods tried in turn when an explicit method spends :data:`EXPLICIT_BUDGET`: a stiff flow
(e.g. C₀ ≪ 1 makes the rate 4λ_min/C₀ large). LSODA switches to BDF where it detects
stiffness (measured on such flows: 0.4–0.8k evaluations, against 0.7–1.6k for BDF and 2–4k for
Radau), but at an exactly fitted empirical minimum its detection can fail: it stays in Adams
mode on steps of ~2/λ_max (measured: 6·10⁶ evaluations to t = 20). So LSODA gets the explicit
budget too, and BDF (5.7k evaluations there) the whole ``max_evaluations``."""


def _attempts(method: str, max_evaluations: int) -> list[tuple[str, int]]:
    """(method, evaluation budget) pairs to try in turn: a stiff method as asked, with the
    whole budget; an explicit one, then :data:`STIFF_FALLBACKS`."""
    if method in STIFF_METHODS:
        return [(method, max_evaluations)]
    quick = min(max_evaluations, EXPLICIT_BUDGET)
    return [(method, quick), (STIFF_FALLBACKS[0], quick), (STIFF_FALLBACKS[1], max_evaluations)]


class _BudgetExhausted(Exception):
    """Raised inside the right-hand side when the evaluation budget is spent."""


def gradient_flow(risk, theta0, t_max: float, rtol: float = 1e-10, atol: float = 1e-12, *,
                  method: str = "DOP853", t_eval=None, n_records: int = 201,
                  max_evaluations: int = 200_000) -> Trajectory:
    """Integrate θ' = −∇R(θ) from θ₀ on [0, t_max] with ``solve_ivp``.

    Parameters
    ----------
    risk : EmpiricalRisk or PopulationRisk
    method : str
        Any ``solve_ivp`` method; "DOP853" (explicit, order 8) by default, "Radau" or "BDF"
        for stiff problems.
    t_eval : array, optional
        Recording times (dense output); default ``n_records`` points evenly on [0, t_max].

    The run stops early, with a status, when the distance to the ill-posed set falls below
    the model's margin (``flow_events``), when the gradient is not finite, or when the model
    rejects θ (typed error). The final state is always recorded. A run needing more than
    :data:`EXPLICIT_BUDGET` gradients with an explicit method is stiff: it is rerun with
    LSODA, and if that too needs more, with BDF (:data:`STIFF_FALLBACKS`;
    ``info["stiff_fallback_from"]`` names the methods that gave up). A stiff method that
    needs more than ``max_evaluations`` stops with SOLVER_FAILED.
    """
    theta0 = _parameters(risk, theta0)
    t_max = as_positive(t_max, "t_max")
    rtol, atol = as_positive(rtol, "rtol"), as_positive(atol, "atol")
    n_records = as_count(n_records, "n_records", minimum=2)
    if method not in FLOW_METHODS:
        raise InvalidInputError(f"method {method!r} is not a solve_ivp method; use one of {FLOW_METHODS}")
    if t_eval is None:
        t_eval = np.linspace(0.0, t_max, n_records)
    else:
        t_eval = as_vector(t_eval, "t_eval", np.size(t_eval))
        if t_eval.size == 0 or np.any(np.diff(t_eval) <= 0) or t_eval[0] < 0 or t_eval[-1] > t_max:
            raise InvalidInputError("t_eval must be strictly increasing times within [0, t_max]")
    failure: list = []
    evaluations, budget = [0], [0]

    def rhs(t, theta):
        evaluations[0] += 1
        if evaluations[0] > budget[0]:
            raise _BudgetExhausted
        # An ill-posed or non-finite trial stage returns NaN: the integrator then rejects the
        # step and retries a shorter one (a probe past the contraction limit is not the
        # trajectory); if it cannot get past, solve_ivp fails and the failure is reported.
        # A trial state built from such a NaN stage is not finite: NaN again, and not a failure
        # of its own (the risk is not asked; the first failure keeps its name).
        if not np.all(np.isfinite(theta)):
            return np.full_like(theta, np.nan)
        try:
            gradient = risk.gradient(theta)
        except DEQError as error:
            failure.append((RunStatus.ILL_POSED, f"{type(error).__name__}: {error}"))
            return np.full_like(theta, np.nan)
        if not np.all(np.isfinite(gradient)):
            failure.append((RunStatus.NON_FINITE, f"non-finite gradient at θ = {theta.tolist()}"))
        return -gradient

    try:
        risk.gradient(theta0)
    except DEQError as error:
        return _record(risk, np.zeros(1), theta0[None, :], RunStatus.ILL_POSED,
                       f"{type(error).__name__}: {error}", "flow", {})
    # t_max is always recorded; no dense output (DOP853's costs 3 gradients per step): the
    # records come from the t_eval interpolation, an event's state from y_events
    t_eval = t_eval if t_eval[-1] == t_max else np.append(t_eval, t_max)
    exhausted = []  # (method, budget) of the attempts that ran out of evaluations
    for method, limit in _attempts(method, max_evaluations):
        evaluations[0], budget[0] = 0, limit
        failure.clear()
        try:
            solution = solve_ivp(rhs, (0.0, t_max), theta0, method=method, t_eval=t_eval,
                                 rtol=rtol, atol=atol, events=_events(risk, theta0))
            break
        except _BudgetExhausted:
            exhausted.append((method, limit))
        except ValueError as error:  # an implicit method's finite-difference Jacobian met the NaN
            status, reason = failure[-1] if failure else (RunStatus.SOLVER_FAILED, "")
            return _record(risk, np.zeros(1), theta0[None, :], status,
                           f"{method} could not continue ({error}); last failure: {reason}", "flow", {})
    else:
        spent = "; ".join(f"more than {limit} gradient evaluations with {name}"
                          for name, limit in exhausted)
        return _record(risk, np.zeros(1), theta0[None, :], RunStatus.SOLVER_FAILED,
                       f"{spent}; try a shorter t_max", "flow", {})
    info = {"nfev": int(solution.nfev), "rtol": rtol, "atol": atol, "method": method}
    if exhausted:
        info["stiff_fallback_from"] = ", ".join(name for name, _ in exhausted)
    # solve_ivp leaves t and y as empty lists when it fails before the first t_eval point
    times, thetas = np.asarray(solution.t, dtype=float), np.reshape(solution.y, (theta0.size, -1)).T
    if not times.size:  # failed before the first record: the start is the record
        times, thetas = np.zeros(1), theta0[None, :]
    if solution.status == 1:
        event_time, event_state = min((float(times[0]), states[0]) for times, states
                                      in zip(solution.t_events, solution.y_events) if times.size)
        times = np.append(times[times < event_time], event_time)
        thetas = np.vstack([thetas[: times.size - 1], event_state])
        status = RunStatus.SINGULAR_APPROACH
        message = (f"stopped at t = {event_time:.6g}: θ is within the model's margin of the "
                   "ill-posed set")
    elif solution.status == 0:
        status, message = RunStatus.COMPLETED, "reached t_max"
    else:
        status, message = RunStatus.SOLVER_FAILED, solution.message
        if failure:  # the solver gave up on a region it could not evaluate
            status, message = failure[-1][0], f"{solution.message}; last failure: {failure[-1][1]}"
    finite = np.all(np.isfinite(thetas), axis=1)
    if not finite.all():  # an explicit method can step through NaN stages and "complete"
        kept = int(np.argmin(finite))
        times, thetas = (times[:kept], thetas[:kept]) if kept else (np.zeros(1), theta0[None, :])
        status = failure[0][0] if failure else RunStatus.NON_FINITE
        message = (f"θ became non-finite after t = {times[-1]:.6g}"
                   + (f"; first failure: {failure[0][1]}" if failure else ""))
    return _record(risk, times, thetas, status, message, "flow", info)


def _record(risk, times, thetas, status, message, kind, info) -> Trajectory:
    values, norms = [], []
    for theta in thetas:
        try:
            value, gradient = risk.value_and_gradient(theta)
        except DEQError:
            value, gradient = math.nan, np.full(theta.size, np.nan)
        values.append(value)
        norms.append(float(np.linalg.norm(gradient)))
    return Trajectory(np.asarray(times, dtype=float), np.asarray(thetas, dtype=float),
                      np.asarray(values), np.asarray(norms), _truth(risk, len(thetas[0])), status,
                      message, kind, info)


def gradient_descent(risk, theta0, step: float, steps: int, record_every: int = 1, *,
                     progress: bool = False) -> Trajectory:
    """θₖ₊₁ = θₖ − η∇R(θₖ) for ``steps`` steps, recording every ``record_every``-th iterate.

    Stops with a status on a non-finite value or gradient, an ill-posed θ (typed error
    from the model, e.g. θ₂L ≥ 1), or divergence (R > 10⁶·max(R₀, 1)). The last iterate
    reached is always recorded. ``progress`` prints a bar to stderr (the CLI uses it).
    """
    theta = _parameters(risk, theta0).copy()
    step = as_positive(step, "step")
    steps = as_count(steps, "steps")
    record_every = as_count(record_every, "record_every", minimum=1)
    times, thetas, values, norms = [], [], [], []
    status, message = RunStatus.COMPLETED, f"ran {steps} steps"
    limit = None
    bar = ProgressBar(steps, "descent") if progress else None
    k = 0
    while True:
        try:
            value, gradient = risk.value_and_gradient(theta)
        except DEQError as error:
            status, message = RunStatus.ILL_POSED, f"step {k}: {type(error).__name__}: {error}"
            break
        if not (math.isfinite(value) and np.all(np.isfinite(gradient))):
            status, message = RunStatus.NON_FINITE, f"step {k}: non-finite risk or gradient"
            break
        limit = limit if limit is not None else DIVERGENCE_FACTOR * max(value, 1.0)
        if k % record_every == 0 or k == steps:
            times.append(k)
            thetas.append(theta.copy())
            values.append(value)
            norms.append(float(np.linalg.norm(gradient)))
        if value > limit:
            status, message = RunStatus.DIVERGED, f"step {k}: R = {value:.3g} > {limit:.3g}"
            break
        if k == steps:
            break
        theta = theta - step * gradient
        k += 1
        if bar:
            bar.update(k)
    if bar:
        bar.close()
    if not times or times[-1] != k:
        times.append(k)
        thetas.append(theta.copy())
        values.append(math.nan)
        norms.append(math.nan)
    return Trajectory(np.asarray(times, dtype=float), np.asarray(thetas), np.asarray(values),
                      np.asarray(norms), _truth(risk, len(thetas[0])), status, message, "descent",
                      {"step": step, "steps_taken": k})
