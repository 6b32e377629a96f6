"""Batches (FP-1, FP-2): one sample never changes another, and accuracy holds as n grows
(batch-wide stopping rules and batch-wide mixing degrade with n or with one hard sample)."""

from __future__ import annotations

import numpy as np

from deqverify.conformance.checks.base import (
    DUE_THRESHOLD,
    Check,
    batch_snippet,
    describe_error,
    due_error,
    gradient_error,
    problem,
    reference_gradient,
    reference_y,
    sample_errors,
    smooth,
    unflagged_error,
)
from deqverify.reference import bracket

ISOLATION_SIZES = (64, 1_000, 10_000)
ISOLATION_CONTRACTION = 0.99  # cond up to 100 at u ≈ 0: tight enough to separate stopping rules


def near_edge_rows(theta, activation, count, d):
    """Rows whose pre-activation sits at u ≈ 0, where 1 − θ₂σ'(u) is smallest (cond 1/(1−θ₂L)):
    the root y ≈ σ(0), so θ₁ᵀx = −θ₂σ(0) (plus a tiny spread)."""
    offsets = -theta[-1] * bracket.value(activation, np.zeros(1))[0] + np.linspace(-1e-3, 1e-3, count)
    rows = np.zeros((count, d))
    rows[:, 0] = offsets / theta[0]
    return rows


def _isolation_snippet(name, activation, n, label=None):
    """Code that rebuilds the check's whole batch of n rows (plus the appended ``label`` rows)."""
    rows = {None: "", "NaN row": ", np.full((1, X.shape[1]), np.nan)",
            "near-edge row": f", near_edge_rows(theta, {activation!r}, 1, X.shape[1])"}.get(
        label, f", near_edge_rows(theta, {activation!r}, {n}, X.shape[1])")
    setup = (f"from deqverify.conformance.checks.base import problem, reference_y\n"
             f"from deqverify.conformance.checks.batches import near_edge_rows\n"
             f"theta, X, _ = problem({activation!r}, {ISOLATION_CONTRACTION}, n={n})\n"
             f"y = np.asarray(impl.fixed_point(theta, np.vstack([X{rows}]), {activation!r}), dtype=float)\n"
             f"truth = reference_y(theta, X, {activation!r})")
    disturbed = "the clean batch" if label is None else f"the first {n} roots, with the {label} appended"
    return batch_snippet(name, setup, f"np.max(np.abs(y[:{n}] - truth) / np.maximum(1, np.abs(truth)))",
                         f"at most {DUE_THRESHOLD:g} ({disturbed})")


class Isolation(Check):
    id, cites, threshold = "isolation", "FP-1", DUE_THRESHOLD

    def run(self, h):
        """At n ∈ {64, 10³, 10⁴} (θ₂L = 0.99): the clean batch must be right (1e-8, due);
        appending a NaN row, one near-edge row, or as many near-edge rows as the batch has
        must leave every other sample right (1e-8 of its root): a change within that is the
        solver's own tolerance (a batch-wide stopping test moves answers by about it), a
        change beyond it is one sample corrupting another. The NaN row must be flagged (NaN
        out, or a raise: the only batch allowed to raise); near-edge rows must be right (1e-8)
        or flagged."""
        if not smooth(h):
            return self.skip("no smooth activation declared")
        activation = smooth(h)[0]
        worst, notes, example = 0.0, [], ""
        for n in ISOLATION_SIZES:
            theta, X, _ = problem(activation, ISOLATION_CONTRACTION, n=n)
            truth = reference_y(theta, X, activation)
            clean = h.forward(theta, X, activation)
            accuracy = due_error(clean, truth)
            part = [f"n={n}: clean {describe_error(clean, accuracy)}"]
            if accuracy > DUE_THRESHOLD:
                worst = np.inf
                example = example or _isolation_snippet(h.name, activation, n)
                notes.append(part[0])
                continue
            variants = (("NaN row", np.full((1, X.shape[1]), np.nan), True),
                        ("near-edge row", near_edge_rows(theta, activation, 1, X.shape[1]), False),
                        (f"{n} near-edge rows", near_edge_rows(theta, activation, n, X.shape[1]), False))
            for label, rows, may_raise in variants:
                mixed = h.forward(theta, np.vstack([X, rows]), activation)
                if not mixed.ok:
                    error = 0.0 if may_raise else np.inf
                    part.append(f"{label}: raised")
                else:
                    error = due_error(mixed.rows(slice(0, n)), truth)
                    change = float(np.max(sample_errors(mixed.value[:n], clean.value), initial=0.0))
                    part.append(f"{label}: others changed by {change:.2g}, now "
                                + describe_error(mixed.rows(slice(0, n)), error).replace("error", "off by", 1))
                    extra = mixed.flagged(n + len(rows))[n:]
                    if may_raise and not extra.all():
                        error = np.inf  # a finite answer for a NaN input is a silent wrong answer
                        part.append("the NaN row got a finite, unflagged answer")
                    elif not may_raise:
                        wrong = unflagged_error(mixed.rows(slice(n, None)),
                                                reference_y(theta, rows, activation))
                        if wrong > DUE_THRESHOLD:
                            part.append(f"an unflagged near-edge row is off by {wrong:.2g}")
                        error = max(error, wrong)
                if error > DUE_THRESHOLD and not example:
                    example = _isolation_snippet(h.name, activation, n, label)
                worst = max(worst, error)
            notes.append(", ".join(part))
            h.note(notes[-1])
        return self.result(worst, "; ".join(notes), example)


class GradientBatchScaling(Check):
    id, cites, threshold = "gradient-batch", "FP-2", 1e-6

    def run(self, h):
        """∇R against the bracketed-root IFT gradient at n ∈ {10², 10³, 10⁴, 10⁵} (θ₂L = 0.9)."""
        if not smooth(h):
            return self.skip("no smooth activation declared")
        activation = smooth(h)[0]
        worst, notes = 0.0, []
        for n in (100, 1_000, 10_000, 100_000):
            theta, X, targets = problem(activation, 0.9, n=n)
            answer = h.gradient(theta, X, targets, activation)
            error = gradient_error(answer, reference_gradient(theta, X, targets, activation))
            notes.append(f"n={n}: " + (f"{error:.2g}" if answer.ok else answer.describe()))
            h.note(notes[-1])
            worst = max(worst, error)
        return self.result(worst, "; ".join(notes))
