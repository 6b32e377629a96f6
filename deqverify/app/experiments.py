"""The paper's synthetic experiments, run as the authors' code runs them (issue 3).

(a) linear DEQ, x ~ U[0, 1], n = 1000, target 2x, θ₀ = (0.02442, 0.06782), η = 0.01, 200 GD
    steps, and gradient flow from the same θ₀;
(b) near-singular linear start θ₀ = (0.02442, 1.06782), η = 0.01, 200 steps;
(c) sigmoid single-index, x ~ U[0, 1], n = 1000, target σ(2x), θ₀ = (0.02442, 0.06782),
    η = 0.1, 40 000 steps;
(d) sigmoid far start θ₀ = (20.02442, 0.06782), η = 2.0, 40 000 steps;
(e) Gaussian d = 10 population gradient flow for sigmoid and tanh from a start near θ* = (ξ, 0).

``run_all(out_dir, quick)`` writes ``summary.json`` and, with matplotlib, one PNG per run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deqverify.app.outputs import write_outputs
from deqverify.app.vector_experiments import run_vector
from deqverify.core.data import GaussianPopulation
from deqverify.core.dynamics import Trajectory, gradient_descent, gradient_flow
from deqverify.core.errors import DEQError
from deqverify.core.models import LinearDEQ, SingleIndexDEQ
from deqverify.core.population import PopulationRisk
from deqverify.core.risk import EmpiricalRisk

SEED = 0
SAMPLES = 1000
START = (0.02442, 0.06782)


@dataclass
class Run:
    name: str
    description: str
    trajectory: Trajectory
    seconds: float
    step: float | None = None
    linear: bool = False
    """The linear DEQ: its zero-risk set, singular point and GD-RADIUS apply (sigmoid: not)."""


def _uniform_sample(rng):
    return rng.uniform(0.0, 1.0, size=(SAMPLES, 1))


def _timed(label, description, function, step=None, linear=False):
    start = time.perf_counter()
    trajectory = function()
    return Run(label, description, trajectory, time.perf_counter() - start, step, linear)


def linear_runs(quick: bool) -> list[Run]:
    X = _uniform_sample(np.random.default_rng(SEED))
    risk = EmpiricalRisk.from_teacher(LinearDEQ(), X, [2.0])
    runs = [
        _timed("a_linear_gd", "linear DEQ, target 2x, GD η = 0.01, 200 steps",
               lambda: gradient_descent(risk, START, 0.01, 200), 0.01, linear=True),
        _timed("a_linear_gf", "linear DEQ, target 2x, gradient flow to t = 50",
               lambda: gradient_flow(risk, START, 50.0, n_records=501), linear=True),
        _timed("b_linear_near_singular", "linear DEQ, θ₀ = (0.02442, 1.06782), GD η = 0.01",
               lambda: gradient_descent(risk, (0.02442, 1.06782), 0.01, 200), 0.01, linear=True),
    ]
    return runs


def sigmoid_runs(quick: bool, progress: bool = False) -> list[Run]:
    X = _uniform_sample(np.random.default_rng(SEED))
    risk = EmpiricalRisk.from_teacher(SingleIndexDEQ("sigmoid"), X, [2.0])
    steps = 2_000 if quick else 40_000
    record = max(1, steps // 2000)
    runs = [
        _timed("c_sigmoid_near", f"sigmoid single-index, target σ(2x), GD η = 0.1, {steps} steps",
               lambda: gradient_descent(risk, START, 0.1, steps, record, progress=progress), 0.1),
        _timed("d_sigmoid_far", f"sigmoid, far start θ₀ = (20.02442, 0.06782), GD η = 2.0, {steps} steps",
               lambda: gradient_descent(risk, (20.02442, 0.06782), 2.0, steps, record, progress=progress), 2.0),
    ]
    for run in runs:
        _attach_contraction_rate(run, risk)
    return runs


def _attach_contraction_rate(run: Run, risk) -> None:
    """λ₁ of SI-RSI on the ball through θ₀ (sampled, plus the run's own points), stored as
    the rate of the T3.8 bound r(0)e^{−λ₁t} (flow) or of T3.9's (1 − ηλ₁/2)ᵏ (descent)."""
    from deqverify.theorems import Problem, rsi_constants

    trajectory = run.trajectory
    problem = Problem(model=risk.model, risk=risk, theta0=trajectory.theta[0])
    radius = float(np.linalg.norm(trajectory.theta[0] - risk.truth))
    try:
        lambda1 = rsi_constants(problem, radius, trajectory.theta)["lambda1"]
    except DEQError:
        return
    if lambda1 <= 0:
        return
    if trajectory.kind == "flow":
        trajectory.info["contraction_rate"] = lambda1
    elif run.step * lambda1 / 2 < 1:
        trajectory.info["contraction_rate"] = -np.log1p(-run.step * lambda1 / 2)


def gaussian_flow_runs(quick: bool) -> list[Run]:
    rng = np.random.default_rng(SEED)
    d = 10
    basis, _ = np.linalg.qr(rng.standard_normal((d, d)))
    Sigma = basis @ np.diag(np.linspace(0.5, 2.0, d)) @ basis.T
    xi = rng.standard_normal(d)
    xi /= np.linalg.norm(xi)
    direction = rng.standard_normal(d + 1)
    start = np.r_[xi, 0.0] + 0.1 * direction / np.linalg.norm(direction)
    t_max = 10.0 if quick else 50.0
    runs = []
    for name in ("sigmoid", "tanh"):
        risk = PopulationRisk(SingleIndexDEQ(name), GaussianPopulation(Sigma), xi)
        runs.append(_timed(f"e_gaussian_{name}_gf",
                           f"{name}, X ~ N(0, Σ) in d = 10, population gradient flow to t = {t_max:g}",
                           lambda risk=risk: gradient_flow(risk, start, t_max, n_records=201)))
        _attach_contraction_rate(runs[-1], risk)
    return runs


def summarise(run: Run) -> dict:
    trajectory = run.trajectory
    finite = np.isfinite(trajectory.risk)
    return {
        "description": run.description, "status": str(trajectory.status),
        "message": trajectory.message, "kind": trajectory.kind,
        "final_theta": trajectory.final_theta.tolist(),
        "final_risk": float(trajectory.risk[finite][-1]) if finite.any() else None,
        "C0": float(trajectory.sphere[0]), "final_C": float(trajectory.sphere[-1]),
        "steps": int(trajectory.t[-1]) if trajectory.kind == "descent" else None,
        "final_time": float(trajectory.t[-1]) if trajectory.kind == "flow" else None,
        "seconds": run.seconds,
        "contraction_rate": trajectory.info.get("contraction_rate"),
    }


def run_all(out_dir, quick: bool = False, log=print, progress: bool = False,
            vector: bool = False) -> dict:
    """Run every experiment (``vector``: the vector-DEQ ones instead), write ``summary.json``
    and figures; return the summary."""
    if vector:
        return run_vector(out_dir, quick=quick, log=log)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runs = []
    groups = (linear_runs, lambda q: sigmoid_runs(q, progress), gaussian_flow_runs)
    for group in groups:
        for run in group(quick):
            log(f"{run.name:28s} {str(run.trajectory.status):18s} {run.seconds:7.2f} s")
            runs.append(run)
    summary = {run.name: summarise(run) for run in runs}
    write_outputs(out, summary, "plot_run", [((run,), run.name) for run in runs], log)
    return summary
