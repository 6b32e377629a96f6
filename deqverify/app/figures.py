"""Figures for ``deqverify reproduce`` (needs the optional ``plot`` extra: matplotlib)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_run(run, path) -> None:
    """Four panels: risk (log), the (θ₁, θ₂) path, C(θ) with the GD-RADIUS prediction, and
    r = ‖θ − (ξ, 0)‖² (log)."""
    trajectory = run.trajectory
    t, theta = trajectory.t, trajectory.theta
    axis_label = "step" if trajectory.kind == "descent" else "time t"
    figure, axes = plt.subplots(2, 2, figsize=(10, 8))
    figure.suptitle(run.description, fontsize=10)

    risk_axis = axes[0, 0]
    positive = trajectory.risk > 0
    risk_axis.semilogy(t[positive], trajectory.risk[positive])
    risk_axis.set(xlabel=axis_label, ylabel="risk R(θ)", title="risk")

    path_axis = axes[0, 1]
    norm1 = theta[:, 0] if theta.shape[1] == 2 else np.linalg.norm(theta[:, :-1], axis=1)
    path_axis.plot(norm1, theta[:, -1], ".-", markersize=2, label="path")
    path_axis.plot(norm1[0], theta[0, -1], "go", label="start")
    xi = trajectory.truth[:-1]
    if run.linear:  # only the linear DEQ has this zero-risk line and the singular point θ₂ = 1
        theta2 = np.linspace(min(theta[:, -1].min(), 0) - 0.2, max(theta[:, -1].max(), 1) + 0.2, 50)
        path_axis.plot(xi[0] * (1 - theta2), theta2, "k--", lw=0.8, label="zero-risk set θ₁ = ξ(1−θ₂)")
        path_axis.plot(0, 1, "rx", label="singular point (0, 1)")
    path_axis.plot(np.linalg.norm(xi) if theta.shape[1] > 2 else xi[0], 0, "k*", label="target (ξ, 0)")
    path_axis.margins(0.15)  # axes follow the path and the target, however short the path
    path_axis.set(xlabel="θ₁" if theta.shape[1] == 2 else "‖θ₁‖", ylabel="θ₂", title="parameter path")
    path_axis.legend(fontsize=7)

    sphere_axis = axes[1, 0]
    sphere_axis.plot(t, trajectory.sphere, label="C(θ) = ‖θ₁‖² + (θ₂−1)²")
    step = run.step
    if run.linear and step is not None and trajectory.kind == "descent" and np.all(np.diff(t) == 1):
        predicted = trajectory.sphere[0] + step ** 2 * np.r_[0, np.cumsum(trajectory.grad_norm[:-1] ** 2)]
        sphere_axis.plot(t, predicted, "--", label="GD-RADIUS: C₀ + η²Σ‖∇R‖²")
    title = "sphere quantity (T3.1 / GD-RADIUS)" if run.linear else "C(θ) (conserved only for the linear DEQ)"
    sphere_axis.set(xlabel=axis_label, ylabel="C(θ)", title=title)
    sphere_axis.legend(fontsize=7)

    distance_axis = axes[1, 1]
    r = trajectory.distance_to_truth
    distance_axis.semilogy(t[r > 0], r[r > 0], label="r = ‖θ − (ξ, 0)‖²")
    rate = trajectory.info.get("contraction_rate")
    if rate:
        label = (r"T3.8 bound $r(0)\,e^{-\lambda_1 t}$" if trajectory.kind == "flow"
                 else r"T3.9 bound $r(0)\,(1 - \eta\lambda_1/2)^k$")
        distance_axis.semilogy(t, r[0] * np.exp(-rate * t), "--", label=label)
    distance_axis.set(xlabel=axis_label, ylabel="r", title="distance to the truth")
    distance_axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def plot_vector_run(description, trajectory, values, path) -> None:
    """Four panels for a vector run: the entries of Q (VEC-CONS / VEC-RADIUS) or the
    per-neuron balances (VEC-BAL, ReLU), ‖v‖² + ‖A‖_F² (VEC-SCALE), σ_min(I − W(t)) and R."""
    t = trajectory.t
    axis_label = "step" if trajectory.kind == "descent" else "time t"
    relu = "ReLU" in description
    figure, axes = plt.subplots(2, 2, figsize=(10, 8))
    figure.suptitle(description, fontsize=10)

    law_axis = axes[0, 0]
    if relu:
        balance = np.array([v["balance"] for v in values])
        for i in range(balance.shape[1]):
            law_axis.plot(t, balance[:, i], label=f"neuron {i + 1}")
        law_axis.set(title="per-neuron balance (VEC-BAL: constant under GF)",
                     ylabel=r"$\|W_{i,:}\|^2 - \|W_{:,i}\|^2 + \|U_{i,:}\|^2 + b_i^2 - v_i^2$")
    else:
        Q = np.array([v["Q"] for v in values])
        for j in range(Q.shape[1]):
            law_axis.plot(t, Q[:, j], lw=1)
        law_axis.set(title=("entries of Q = AAᵀ + UUᵀ + bbᵀ (VEC-CONS: flat)" if trajectory.kind == "flow"
                            else "entries of Q (VEC-RADIUS: grow by η²GGᵀ)"), ylabel="Q entries")
    law_axis.set(xlabel=axis_label)
    if relu:
        law_axis.legend(fontsize=7)

    scale_axis = axes[0, 1]
    scale_axis.plot(t, [v["scale"] for v in values])
    scale_axis.set(xlabel=axis_label, ylabel=r"$\|v\|^2 + \|I - W\|_F^2$",
                   title="VEC-SCALE quantity" + (" (proved for linear σ only)" if relu else ""))

    sigma_axis = axes[1, 0]
    sigma_axis.plot(t, [v["sigma_min"] for v in values])
    sigma_axis.set(xlabel=axis_label, ylabel=r"$\sigma_{\min}(I - W)$",
                   title="distance to singular I − W (VEC-INVERTIBLE, open)")
    sigma_axis.set_ylim(bottom=0)

    risk_axis = axes[1, 1]
    positive = np.isfinite(trajectory.risk) & (trajectory.risk > 0)
    risk_axis.semilogy(t[positive], trajectory.risk[positive])
    risk_axis.set(xlabel=axis_label, ylabel="risk R", title="risk")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
