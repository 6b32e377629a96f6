"""Accuracy where an answer is due: fixed points (FP-1), IFT gradients (FP-2), and the exact
identities LIN-ORTH and GD-RADIUS evaluated with the implementation's own gradient."""

from __future__ import annotations

import numpy as np

from deqverify import reference as ref
from deqverify.conformance.checks.base import (
    DUE_THRESHOLD,
    LINEAR_DUE,
    LINEAR_STEEP,
    Check,
    describe_error,
    due_error,
    forward_flag_note,
    gradient_error,
    linear_problem,
    problem,
    reference_gradient,
    reference_y,
    residuals,
    smooth,
    snippet,
    with_twin,
)
from deqverify.conformance.checks.certified_reference import ReferenceCertificates, join_notes
from deqverify.core.activations import get_activation

class ForwardAccuracy(Check):
    id, cites, threshold = "forward-accuracy", "FP-1", DUE_THRESHOLD

    def run(self, h):
        """Easy well-posed problems (θ₂L ∈ {−0.5, 0.5, 0.9}; linear θ₂ ∈ {0.3, −0.6})
        against bracketed roots, and edge samples against mpmath. Every sample is due."""
        worst, example, certificates = 0.0, "", ReferenceCertificates()
        cases = [(a, c, problem(a, c)) for a in smooth(h) for c in (-0.5, 0.5, 0.9)]
        if "identity" in h.capabilities.activations:
            cases += [("identity", theta2, linear_problem(theta2, seed)) for seed, theta2 in enumerate(LINEAR_DUE)]
        for activation, _, (theta, X, _) in cases:
            truth = reference_y(theta, X, activation)
            certificates.fixed_points(theta, X, activation, truth)
            error = due_error(h.forward(theta, X, activation), truth)
            if error > worst:
                worst, example = error, snippet(h.name, "fixed_point", theta, X[:3], activation,
                                                reference_y(theta, X[:3], activation).tolist())
        for activation, theta, X in self._edges(h):
            with ref.working_precision(40):
                truth = np.array([ref.to_float(ref.fixed_point(a, theta[-1], get_activation(activation)))
                                  for a in X @ theta[:-1]])
            error = due_error(h.forward(theta, X, activation), truth)
            if error > worst:
                worst, example = error, snippet(h.name, "fixed_point", theta, X, activation, truth.tolist())
        return self.result(worst, join_notes("relative to max(1, |y|), vs bracketed roots and mpmath; a "
                                             "raise or NaN counts as +inf", certificates.note()), example)

    @staticmethod
    def _edges(h):
        if "sigmoid" in h.capabilities.activations:
            # θ₂L = 0.99 with u ≈ 0 (cond 100), and a saturated sigmoid
            yield "sigmoid", np.array([1.0, 3.96]), np.array([[-1.98], [-1.9], [-2.1]])
            yield "sigmoid", np.array([1.0, 2.0]), np.array([[-700.0], [300.0], [40.0]])


class HonestStatus(Check):
    id, cites, threshold = "honest-status", "FP-1", 1e-6

    def run(self, h):
        """A sample claimed as converged (finite, and not reported otherwise) must have a
        small recomputed residual |y − σ(θ₁ᵀx + θ₂y)| on hard problems (θ₂L = 0.999, wide
        offsets); the well-posed twin must be answered."""
        worst, example, notes = 0.0, "", []
        for activation in smooth(h):
            theta, X, _ = problem(activation, 0.999, spread=4.0)
            answer = h.forward(theta, X, activation)
            if not answer.ok:
                notes.append(f"{activation}: {answer.describe()}")
                continue
            claimed = ~answer.flagged(X.shape[0])
            residual = float(np.max(residuals(answer.value, theta, X, activation)[claimed], initial=0.0))
            notes.append(f"{activation}: {int(claimed.sum())}/{claimed.size} claimed, residual {residual:.2g}")
            if residual > worst:
                worst = residual
                example = snippet(h.name, "fixed_point", theta, X[:3], activation,
                                  "a residual below 1e-6, or a flag")
        if smooth(h):
            worst = with_twin(h, worst, notes)
        return self.result(worst, "; ".join(notes), example)


def gradient_cases(h):
    """(activation, θ, X, targets) with θ₂L = 0.5 (smooth) and θ₂ = −0.5 (linear)."""
    for activation in smooth(h) + (["identity"] if "identity" in h.capabilities.activations else []):
        yield (activation, *problem(activation, 0.5 if activation != "identity" else -0.5))


class GradientIFT(Check):
    id, cites, threshold = "gradient-ift", "FP-2", 1e-6

    def run(self, h):
        """∇R against the IFT gradient from bracketed roots, and against mpmath at θ₂L = 0.9."""
        worst, example, notes, certificates = 0.0, "", [], ReferenceCertificates()
        for activation, theta, X, targets in gradient_cases(h):
            answer = h.gradient(theta, X, targets, activation)
            exact = reference_gradient(theta, X, targets, activation)
            certificates.scalar_gradient(theta, X, targets, activation, exact)
            error = gradient_error(answer, exact)
            if error > self.threshold:
                notes.append(f"{activation}: {describe_error(answer, error)}"
                             f"{forward_flag_note(h, theta, X, activation)}")
            if error > worst:
                worst, example = error, snippet(
                    h.name, "risk_gradient", theta, X[:4], activation,
                    reference_gradient(theta, X[:4], targets[:4], activation).tolist(), targets[:4])
        for activation in smooth(h)[:1]:
            theta, X, targets = problem(activation, 0.9, n=6)
            with ref.working_precision(40):
                exact = np.array([ref.to_float(g) for g in ref.risk_and_gradient(
                    theta, X, targets, get_activation(activation))[1]])
            error = gradient_error(h.gradient(theta, X, targets, activation), exact)
            if error > worst:
                worst, example = error, snippet(h.name, "risk_gradient", theta, X, activation,
                                                exact.tolist(), targets)
        notes.insert(0, "max |g − g_IFT| / max |g_IFT| (bracketed roots; mpmath at θ₂L = 0.9); "
                        "a raise or NaN counts as +inf")
        return self.result(worst, join_notes(*notes, certificates.note()), example)


class LinOrth(Check):
    id, cites, threshold = "lin-orth", "LIN-ORTH", 1e-10

    def run(self, h):
        """⟨∇R(θ), θ − (0, 1)⟩ = 0 for the linear DEQ, with the implementation's gradient, at
        θ₂ ∈ {0.3, −0.6} (due) and θ₂ ∈ {−1.5, 2.5} (a flag — raise or NaN — is allowed where
        iteration diverges, as in gradient-non-contractive)."""
        if "identity" not in h.capabilities.activations:
            return self.skip("no linear DEQ (identity activation)")
        worst, example, notes = 0.0, "", []
        for seed, theta2 in enumerate(LINEAR_DUE + LINEAR_STEEP):
            theta, X, targets = linear_problem(theta2, seed)
            answer = h.gradient(theta, X, targets, "identity")
            offset = np.r_[theta[:-1], theta[-1] - 1.0]
            flagged = not answer.ok or not np.all(np.isfinite(answer.value))
            if flagged and theta2 in LINEAR_STEEP:
                notes.append(f"θ₂ = {theta2:g}: flagged ({answer.describe()})")
                continue
            if not answer.ok:
                error = float("inf")
            else:
                with np.errstate(invalid="ignore", over="ignore"):
                    error = abs(answer.value @ offset) / (np.linalg.norm(answer.value) * np.linalg.norm(offset))
            notes.append(f"θ₂ = {theta2:g}: {error:.2g}")
            if not error <= worst:  # NaN included
                worst = float(error)
                example = snippet(h.name, "risk_gradient", theta, X[:4], "identity",
                                  "a gradient orthogonal to θ − (0, 1)", targets[:4])
        notes.insert(0, "|⟨∇R, θ−e⟩| / (‖∇R‖‖θ−e‖) with the implementation's gradient")
        return self.result(worst, "; ".join(notes), example)


class GDRadius(Check):
    id, cites, threshold = "gd-radius", "GD-RADIUS", 1e-9
    steps, step = 20, 0.05

    def run(self, h):
        """C(θ_{k+1}) − C(θ_k) = η²‖∇R(θ_k)‖² exactly along GD with the implementation's
        gradient, C(θ) = ‖θ₁‖² + (θ₂ − 1)²."""
        if "identity" not in h.capabilities.activations:
            return self.skip("no linear DEQ (identity activation)")
        theta, X, targets = linear_problem(0.4, seed=7)
        worst = 0.0
        for _ in range(self.steps):
            answer = h.gradient(theta, X, targets, "identity")
            if not answer.ok or not np.all(np.isfinite(answer.value)):
                return self.result(float("inf"), f"gradient {answer.describe()} at θ = {theta.tolist()}")
            gradient = answer.value
            before = theta[:-1] @ theta[:-1] + (theta[-1] - 1) ** 2
            theta = theta - self.step * gradient
            after = theta[:-1] @ theta[:-1] + (theta[-1] - 1) ** 2
            worst = max(worst, abs(after - before - self.step ** 2 * gradient @ gradient) / after)
        return self.result(worst, "|ΔC − η²‖∇R‖²| / C over 20 GD steps with the "
                           "implementation's gradient")
