"""``deqverify reproduce --vector``: the vector conservation laws, seen on real runs.

* Linear vector DEQ (k = 3, d = 4, Gaussian population, linear teacher), trained by gradient
  flow (t ≤ 20) and by GD (η = 0.01): the entries of Q = AAᵀ + UUᵀ + bbᵀ (flat under the flow,
  VEC-CONS; growing by exactly η²GGᵀ under GD, VEC-RADIUS), ‖v‖² + ‖A‖_F² (VEC-SCALE),
  σ_min(I − W(t)) (the open question VEC-INVERTIBLE) and the risk.
* ReLU vector DEQ (k = 3, empirical risk, n = 200): the per-neuron balances
  ‖W_{i,:}‖² − ‖W_{:,i}‖² + ‖U_{i,:}‖² + bᵢ² − vᵢ² along gradient flow (VEC-BAL).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from deqverify.app.outputs import write_outputs
from deqverify.core.data import GaussianPopulation
from deqverify.core.dynamics import gradient_descent, gradient_flow
from deqverify.core.population import PopulationRisk
from deqverify.core.risk import EmpiricalRisk
from deqverify.core.vector_model import VectorDEQ
from deqverify.core.vector_params import VectorParams, split_flat

SEED = 3
WIDTH, DIM = 3, 4


def _start(rng, contraction=None):
    if contraction is None:  # linear: I − W = A close to the identity, invertible
        W = 0.3 * rng.standard_normal((WIDTH, WIDTH))
    else:
        W = rng.standard_normal((WIDTH, WIDTH))
        W *= contraction / np.linalg.norm(W, 2)
    return VectorParams(W, 0.5 * rng.standard_normal((WIDTH, DIM)), 0.5 * rng.standard_normal(WIDTH),
                        rng.standard_normal(WIDTH))


def quantities(theta) -> dict:
    """Q entries, ‖v‖² + ‖A‖², σ_min(I − W) and the per-neuron balances at one θ."""
    parts = split_flat(theta, WIDTH, DIM)
    W, U, b, v = parts["W"], parts["U"], parts["b"], parts["v"]
    A = np.eye(WIDTH) - W
    return {
        "Q": (A @ A.T + U @ U.T + np.outer(b, b)).ravel(),
        "scale": float(v @ v + np.sum(A * A)),
        "sigma_min": float(np.linalg.svd(A, compute_uv=False)[-1]),
        "balance": np.sum(W ** 2, axis=1) - np.sum(W ** 2, axis=0) + np.sum(U ** 2, axis=1) + b ** 2 - v ** 2,
    }


def runs(quick: bool):
    rng = np.random.default_rng(SEED)
    basis, _ = np.linalg.qr(rng.standard_normal((DIM, DIM)))
    Sigma = basis @ np.diag(np.linspace(0.5, 2.0, DIM)) @ basis.T
    xi = rng.standard_normal(DIM)
    linear = PopulationRisk(VectorDEQ(WIDTH, "identity"), GaussianPopulation(Sigma), xi)
    start = _start(rng)
    steps = 300 if quick else 2000
    X = GaussianPopulation(Sigma).sample(200, rng)
    relu = EmpiricalRisk.from_teacher(VectorDEQ(WIDTH, "relu"), X, xi)
    relu_start = _start(rng, contraction=0.5)
    t_max = 5.0 if quick else 20.0
    plan = [
        ("vector_linear_gf", f"linear vector DEQ (k = 3), population gradient flow to t = {t_max:g}",
         lambda: gradient_flow(linear, start, t_max, n_records=201)),
        ("vector_linear_gd", f"linear vector DEQ (k = 3), GD η = 0.01, {steps} steps",
         lambda: gradient_descent(linear, start, 0.01, steps)),
        # ReLU's kinks make the flow stiff for an explicit integrator: LSODA, shorter horizon
        ("vector_relu_gf", f"ReLU vector DEQ (k = 3), empirical gradient flow to t = {t_max / 4:g}",
         lambda: gradient_flow(relu, relu_start, t_max / 4, rtol=1e-8, atol=1e-10, method="LSODA",
                               n_records=201)),
    ]
    for name, description, function in plan:
        begin = time.perf_counter()
        trajectory = function()
        yield name, description, trajectory, time.perf_counter() - begin


def run_vector(out_dir, quick: bool = False, log=print) -> dict:
    """Run the vector experiments; write ``summary.json`` and one PNG per run."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = {}
    finished = []
    for name, description, trajectory, seconds in runs(quick):
        values = [quantities(theta) for theta in trajectory.theta]
        Q = np.array([v["Q"] for v in values])
        balance = np.array([v["balance"] for v in values])
        summary[name] = {
            "description": description, "status": str(trajectory.status), "kind": trajectory.kind,
            "seconds": seconds, "final_risk": float(trajectory.risk[np.isfinite(trajectory.risk)][-1]),
            "max_Q_drift": float(np.abs(Q - Q[0]).max()),
            "max_balance_drift": float(np.abs(balance - balance[0]).max()),
            "sigma_min_range": [min(v["sigma_min"] for v in values), max(v["sigma_min"] for v in values)],
        }
        log(f"{name:28s} {str(trajectory.status):18s} {seconds:7.2f} s")
        finished.append((name, description, trajectory, values))
    write_outputs(out, summary, "plot_vector_run",
                  [((description, trajectory, values), name) for name, description, trajectory, values in finished], log)
    return summary
