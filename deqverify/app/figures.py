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
    if theta.shape[1] == 2:
        theta2 = np.linspace(min(theta[:, -1].min(), 0) - 0.2, max(theta[:, -1].max(), 1) + 0.2, 50)
        path_axis.plot(xi[0] * (1 - theta2), theta2, "k--", lw=0.8, label="zero-risk set θ₁ = ξ(1−θ₂)")
    path_axis.plot(0, 1, "rx", label="singular point (0, 1)")
    path_axis.plot(np.linalg.norm(xi) if theta.shape[1] > 2 else xi[0], 0, "k*", label="target (ξ, 0)")
    path_axis.set(xlabel="θ₁" if theta.shape[1] == 2 else "‖θ₁‖", ylabel="θ₂", title="parameter path")
    path_axis.legend(fontsize=7)

    sphere_axis = axes[1, 0]
    sphere_axis.plot(t, trajectory.sphere, label="C(θ) = ‖θ₁‖² + (θ₂−1)²")
    step = run.step
    if step is not None and trajectory.kind == "descent" and np.all(np.diff(t) == 1):
        predicted = trajectory.sphere[0] + step ** 2 * np.r_[0, np.cumsum(trajectory.grad_norm[:-1] ** 2)]
        sphere_axis.plot(t, predicted, "--", label="GD-RADIUS: C₀ + η²Σ‖∇R‖²")
    sphere_axis.set(xlabel=axis_label, ylabel="C(θ)", title="sphere quantity (T3.1 / GD-RADIUS)")
    sphere_axis.legend(fontsize=7)

    distance_axis = axes[1, 1]
    r = trajectory.distance_to_truth
    distance_axis.semilogy(t[r > 0], r[r > 0], label="r = ‖θ − (ξ, 0)‖²")
    rate = trajectory.info.get("contraction_rate")
    if rate:
        label = "T3.8 bound r(0)e^{−λ₁t}" if trajectory.kind == "flow" else "T3.9 bound r(0)(1 − ηλ₁/2)ᵏ"
        distance_axis.semilogy(t, r[0] * np.exp(-rate * t), "--", label=label)
    distance_axis.set(xlabel=axis_label, ylabel="r", title="distance to the truth")
    distance_axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
