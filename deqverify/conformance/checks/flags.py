"""Where a flag is allowed: ill-posed (FP-3), several roots (FP-3), and unique roots that
fixed-point iteration cannot reach (FP-1/FP-2 with |θ₂σ'(u)| > 1). A flagged sample is
excused, an unflagged wrong one fails, and every check also poses a well-posed twin on which
an answer is due (:func:`~.base.with_twin`), so flagging everything fails."""

from __future__ import annotations

import numpy as np

from deqverify.conformance.checks.base import (
    LINEAR_DUE,
    LINEAR_STEEP,
    Check,
    describe_error,
    forward_flag_note,
    gradient_error,
    linear_problem,
    problem,
    reference_gradient,
    reference_y,
    smooth,
    snippet,
    unflagged_error,
    with_twin,
)
from deqverify.reference import bracket

STEEP_CONTRACTIONS = (-2.0, -5.0)
"""θ₂·L below −1: the root is unique (g' = 1 − θ₂σ' ≥ 1) but |θ₂σ'(u)| > 1 near u = 0, so
plain iteration (forward, or a backward pass solved by iteration) diverges there."""
STEEP_SPREAD = 4.0  # offsets θ₁ᵀx ~ N(0, 16): |θ₁ᵀx| up to about 10 in 64 samples


class IllPosed(Check):
    id, cites, threshold = "ill-posed", "FP-3", 0.0

    def run(self, h):
        """Linear DEQ at θ₂ = 1 (no root or infinitely many): every sample must be flagged
        (a raise, NaN, or converged = False), and θ₂ = 0.5 must be answered."""
        if "identity" not in h.capabilities.activations:
            return self.skip("no linear DEQ (identity activation)")
        theta = np.array([0.7, -0.2, 1.0])
        X = np.array([[1.0, 0.5], [-0.3, 2.0]])
        answer = h.forward(theta, X, "identity")
        unflagged = int(np.sum(~answer.flagged(2)))
        notes = [f"θ₂ = 1: {unflagged} of 2 samples unflagged ({answer.describe()})"]
        worst = with_twin(h, unflagged, notes, "identity")
        return self.result(worst, "; ".join(notes), snippet(
            h.name, "fixed_point", theta, X, "identity", "an exception, NaN or converged = False"))


def steep_cases(h, spread=STEEP_SPREAD):
    """(activation, label, θ, X, targets) where the root is unique but iteration diverges:
    θ₂L ∈ {−2, −5} for each smooth activation, and linear θ₂ ∈ {−1.5, 2.5}."""
    for activation in smooth(h):
        for contraction in STEEP_CONTRACTIONS:
            yield (activation, f"θ₂L={contraction:g}", *problem(activation, contraction, spread=spread))
    if "identity" in h.capabilities.activations:
        for seed, theta2 in enumerate(LINEAR_STEEP):
            yield ("identity", f"θ₂={theta2:g}", *linear_problem(theta2, seed))


class NonContractiveUnique(Check):
    id, cites, threshold = "non-contractive-unique", "FP-1", 1e-8

    def run(self, h):
        """θ₂L ∈ {−2, −5} with offsets up to |θ₁ᵀx| ≈ 10, and linear θ₂ ∈ {−1.5, 2.5}: a
        unique root that plain iteration cannot reach. Pass: each sample right to 1e-8 or
        flagged (and the well-posed twin answered)."""
        worst, example, notes = 0.0, "", []
        for activation, label, theta, X, _ in steep_cases(h):
            answer = h.forward(theta, X, activation)
            truth = reference_y(theta, X, activation)
            error = unflagged_error(answer, truth)
            flagged = int(np.sum(answer.flagged(truth.size)))
            notes.append(f"{activation} {label}: {flagged} flagged, error {error:.2g}")
            if error > worst:
                worst, example = error, snippet(h.name, "fixed_point", theta, X[:3], activation,
                                                truth[:3].tolist())
        if notes:
            worst = with_twin(h, worst, notes, smooth(h)[0] if smooth(h) else "identity")
        return self.result(worst, "; ".join(notes), example)


class GradientNonContractive(Check):
    id, cites, threshold = "gradient-non-contractive", "FP-2", 1e-6

    def run(self, h):
        """The IFT gradient where |θ₂σ'(u)| > 1 but the root is unique (θ₂L ∈ {−2, −5};
        linear θ₂ ∈ {−1.5, 2.5}): 1 − θ₂σ' ≥ 1 (or |1 − θ₂| ≥ 0.5) so the gradient is well
        conditioned, yet a backward pass solved by fixed-point iteration diverges. Pass: right
        to 1e-6 or flagged (raise/NaN); the gradient at θ₂L = −0.5 (linear θ₂ = −0.6) is due."""
        worst, example, notes = 0.0, "", []
        due = [(a, f"θ₂L={-0.5:g}", *problem(a, -0.5, spread=STEEP_SPREAD)) for a in smooth(h)]
        if "identity" in h.capabilities.activations:
            due.append(("identity", f"θ₂={LINEAR_DUE[1]:g}", *linear_problem(LINEAR_DUE[1])))
        if not due:
            return self.skip("no activation with a gradient case declared")
        for is_due, (activation, label, theta, X, targets) in [(False, c) for c in steep_cases(h)] + \
                [(True, c) for c in due]:
            answer = h.gradient(theta, X, targets, activation)
            exact = reference_gradient(theta, X, targets, activation)
            error = gradient_error(answer, exact)
            flagged = not answer.ok or not np.all(np.isfinite(answer.value))
            if flagged and not is_due:
                notes.append(f"{activation} {label}: flagged ({answer.describe()})")
                continue
            notes.append(f"{activation} {label}: {describe_error(answer, error)}"
                         + (forward_flag_note(h, theta, X, activation) if error > self.threshold else ""))
            if error > worst:
                worst, example = error, snippet(h.name, "risk_gradient", theta, X, activation,
                                                exact.tolist(), targets)
        return self.result(worst, "; ".join(notes), example)


MULTI_ROOT_CASES = {
    "sigmoid": ((5.0, 6.0, 8.0, 12.0), (-1.0, 0.0)),  # θ₂ values, offset range as a multiple of θ₂
    "tanh": ((1.5, 2.0, 3.0), (-1.0, 1.0)),
    "softplus": ((1.5, 2.0), (-5.0, 0.0)),  # two roots: a stable small one, a repelling large one
}
_Y_GRID = np.linspace(-2.0, 60.0, 124_001)
_STABILITY_MARGIN = 0.05  # keep offsets whose roots all have |1 − θ₂σ'| ≥ 0.05 (no tangency)


def multi_root_offsets(activation: str, theta2: float, count: int = 41) -> np.ndarray:
    """Offsets a on a grid where y = σ(a + θ₂y) has several well-separated roots."""
    low, high = MULTI_ROOT_CASES[activation][1]
    keep = []
    for a in np.linspace(low * theta2, high * theta2, count):
        g = _Y_GRID - bracket.value(activation, a + theta2 * _Y_GRID)
        change = np.nonzero(np.sign(g[:-1]) != np.sign(g[1:]))[0]
        gains = theta2 * bracket.slope(activation, a + theta2 * _Y_GRID[change])
        if change.size >= 2 and np.all(np.abs(1.0 - gains) >= _STABILITY_MARGIN):
            keep.append(a)
    return np.array(keep)


class MultiRoot(Check):
    id, cites, threshold = "multi-root", "FP-3", 0.0

    def run(self, h):
        """θ₂L > 1 on a grid of offsets with two or three roots (sigmoid, tanh, softplus;
        asymmetric ones included). Each unflagged sample must be a *stable* root (residual
        ≤ 1e-6 and θ₂σ'(u) < 1, the root damped iteration converges to); the worst error is
        the number of unflagged non-roots and repelling roots. Samples whose usual start
        y = 0 is itself the repelling root (tanh at a = 0) are counted and reported apart,
        not scored: a solver started there returns an exact root without taking a step."""
        if not smooth(h):
            return self.skip("no smooth activation declared")
        bad, total, at_start, notes, example = 0, 0, 0, [], ""
        for activation in smooth(h):
            for theta2 in MULTI_ROOT_CASES[activation][0]:
                offsets = multi_root_offsets(activation, theta2)
                theta, X = np.array([1.0, theta2]), offsets[:, None]
                answer = h.forward(theta, X, activation)
                total += offsets.size
                if not answer.ok:
                    continue
                y = answer.value
                claimed = ~answer.flagged(offsets.size)
                with np.errstate(invalid="ignore", over="ignore"):
                    u = offsets + theta2 * y
                    residual = np.abs(y - bracket.value(activation, u))
                    gain = theta2 * bracket.slope(activation, u)
                start_is_root = bracket.value(activation, offsets) == 0.0  # y = 0 solves y = σ(a)
                non_root = claimed & ~(residual <= 1e-6)
                repelling = claimed & (residual <= 1e-6) & (gain >= 1.0)
                at_start += int(np.sum(repelling & start_is_root & (y == 0.0)))
                repelling &= ~(start_is_root & (y == 0.0))
                if non_root.any() or repelling.any():
                    notes.append(f"{activation} θ₂={theta2:g}: {int(repelling.sum())} repelling roots, "
                                 f"{int(non_root.sum())} non-roots of {offsets.size}")
                    i = int(np.argmax(non_root | repelling))
                    example = example or snippet(h.name, "fixed_point", theta, X[i:i + 1], activation,
                                                 "a flag, or the stable root (θ₂σ'(u) < 1)")
                bad += int(non_root.sum() + repelling.sum())
        notes.append(f"{total} multi-root samples")
        if at_start:
            notes.append(f"apart (not scored): {at_start} samples returned y = 0 where the start y = 0 "
                         "is itself the repelling root (tanh, a = 0)")
        return self.result(with_twin(h, bad, notes), "; ".join(notes), example)
