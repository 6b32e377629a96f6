"""The vector battery: z = σ(Wz + Ux + b), ŷ = vᵀz, for implementations that declare
``Capabilities(vector=True, vector_activations=...)`` (others: every check here is skipped).

References: the built-in vector solver, whose per-sample error is certified
(‖z − z*‖ ≤ ‖F(z)‖/(1 − ‖W‖₂L), checked against mpmath by VEC-FP-1) and whose adjoint
gradient is checked against mpmath and differences by VEC-FP-2; the mpmath twin on edge
samples. Scoring as in the scalar battery: NaN or a raise where an answer is due is +inf; a
flag counts only where one is due and the well-posed twin is answered.
"""

from __future__ import annotations

import numpy as np

from deqverify import reference as ref
from deqverify.conformance.checks.base import DUE_THRESHOLD, RNG_SEED, Check, describe_error
from deqverify.conformance.checks.certified_reference import ReferenceCertificates, join_notes
from deqverify.conformance.checks.resources import (
    MAX_EXPONENT,
    MEMORY_FACTOR,
    cost_exponent,
    exponent_note,
    judged_exponent,
    memory_caveat,
    peak_extra_bytes,
)
from deqverify.core.activations import get_activation
from deqverify.core.risk import EmpiricalRisk
from deqverify.core.vector_model import VectorDEQ
from deqverify.core.vector_params import VectorParams, split_flat
from deqverify.reference import vector_twin

SEED = RNG_SEED + 500
TIME_SIZES = (250, 500, 1_000, 2_000, 4_000, 8_000, 16_000)
GRADIENT_THRESHOLD = 1e-6
"""Relative gradient error allowed (as gradient-ift): the reference adjoint is accurate to
≈ 1e-12 at ‖W‖₂L ≤ 0.9, and an IFT gradient from a forward solve at tolerance ≤ 1e-8 is
within ≈ 1e-7 of it; a Jacobian-free or truncated backward is off by O(‖W‖₂L)."""
IDENTITY_THRESHOLD = 1e-8
"""Relative defect of VEC-ORTH / VEC-SCALE / VEC-BAL with the implementation's gradient:
exactly 0 in exact arithmetic; a float64 gradient leaves ≈ 1e-14 relative to the terms."""


def vector_problem(activation: str, q: float, k: int = 4, d: int = 3, n: int = 64,
                   seed: int = 0, spread: float = 1.0):
    """(params dict, X, targets) with ‖W‖₂·L = q (for the identity: ‖W‖₂ = q, so I − W is
    invertible with σ_min ≥ 1 − q)."""
    rng = np.random.default_rng(SEED + seed)
    M = rng.standard_normal((k, k))
    W = M * (q / (get_activation(activation).lipschitz * np.linalg.norm(M, 2)))
    params = {"W": W, "U": rng.standard_normal((k, d)) / np.sqrt(d),
              "b": 0.5 * rng.standard_normal(k), "v": rng.standard_normal(k)}
    return params, rng.standard_normal((n, d)) * spread, 0.5 * rng.standard_normal(n)


def _values(params) -> VectorParams:
    return VectorParams(params["W"], params["U"], params["b"], params["v"])


def reference_Z(params, X, activation, allow_noncontractive=False):
    values = _values(params)
    result = VectorDEQ(values.width, activation, allow_noncontractive=allow_noncontractive).fixed_point(values, X)
    return result.value, result.error_bound


def reference_gradient(params, X, targets, activation) -> np.ndarray:
    values = _values(params)
    return EmpiricalRisk(VectorDEQ(values.width, activation), X, targets).gradient(values)


def row_errors(Z, reference) -> np.ndarray:
    """‖z − z*‖/max(1, ‖z*‖) per sample; a non-finite z is +inf."""
    with np.errstate(invalid="ignore", over="ignore"):
        errors = np.linalg.norm(Z - reference, axis=1) / np.maximum(1.0, np.linalg.norm(reference, axis=1))
    return np.where(np.isfinite(errors), errors, np.inf)


def due(answer, reference) -> float:
    return float("inf") if not answer.ok else float(np.max(row_errors(answer.value, reference), initial=0.0))


def gradient_error(answer, reference) -> float:
    if not answer.ok:
        return float("inf")
    with np.errstate(invalid="ignore", over="ignore"):
        error = float(np.max(np.abs(answer.value - reference)) / np.max(np.abs(reference)))
    return error if np.isfinite(error) else float("inf")


class VectorCheck(Check):
    """Skipped unless the implementation declares the vector protocol."""

    family = "vector"

    activations: tuple[str, ...] = ("tanh", "sigmoid", "softplus", "relu", "identity")

    def declared(self, h) -> list[str]:
        caps = h.capabilities
        if not getattr(caps, "vector", False):
            return []
        return [a for a in self.activations if a in caps.vector_activations]

    def run(self, h):
        activations = self.declared(h)
        if not activations:
            return self.skip("the vector protocol is not declared (Capabilities(vector=True, ...))")
        return self.run_vector(h, activations)

    def run_vector(self, h, activations):  # pragma: no cover - abstract
        raise NotImplementedError

    def twin(self, h, activations, notes) -> float:
        """+inf unless a well-posed problem (‖W‖₂L = 0.5) is answered within 1e-3."""
        activation = activations[0]
        params, X, _ = vector_problem(activation, 0.5, n=16, seed=99)
        answer = h.forward_vector(params, X, activation)
        error = due(answer, reference_Z(params, X, activation)[0])
        notes.append(f"well-posed twin ({activation}, ‖W‖₂L = 0.5): {describe_error(answer, error)}")
        return 0.0 if error <= 1e-3 else float("inf")


class VecForwardAccuracy(VectorCheck):
    id, cites, threshold = "vec-forward-accuracy", "VEC-FP-1", DUE_THRESHOLD

    def run_vector(self, h, activations):
        """‖W‖₂L ∈ {0.5, 0.9}, k ∈ {3, 8}, against the certified built-in solver; edge samples
        at ‖W‖₂L = 0.999 against mpmath. Every sample is due."""
        worst, notes, certificates = 0.0, [], ReferenceCertificates()
        for activation in activations:
            for q in (0.5, 0.9):
                for k in (3, 8):
                    params, X, _ = vector_problem(activation, q, k=k, seed=k)
                    truth = reference_Z(params, X, activation)[0]
                    certificates.vector_fixed_points(_values(params), X, activation, truth)
                    worst = max(worst, due(h.forward_vector(params, X, activation), truth))
            params, X, _ = vector_problem(activation, 0.999, k=3, n=3, seed=7, spread=3.0)
            with ref.working_precision(40):
                truth = np.array([[ref.to_float(v) for v in vector_twin.fixed_point(
                    params["W"], params["U"], params["b"], x, get_activation(activation))] for x in X])
            edge = due(h.forward_vector(params, X, activation), truth)
            notes.append(f"{activation} edge ‖W‖₂L = 0.999: {edge:.2g}")
            worst = max(worst, edge)
        return self.result(worst, join_notes("‖z − z*‖/max(1, ‖z*‖)", *notes, certificates.note()))


class VecHonestStatus(VectorCheck):
    id, cites, threshold = "vec-honest-status", "VEC-FP-1", 1e-6
    activations = ("tanh", "sigmoid", "softplus", "relu")

    def run_vector(self, h, activations):
        """Hard problems (‖W‖₂L = 0.999, wide inputs): a sample claimed as converged must
        have a small recomputed residual ‖z − σ(Wz + Ux + b)‖; the twin must be answered."""
        worst, notes = 0.0, []
        for activation in activations:
            params, X, _ = vector_problem(activation, 0.999, k=6, spread=4.0, seed=3)
            answer = h.forward_vector(params, X, activation)
            if not answer.ok:
                notes.append(f"{activation}: {answer.describe()}")
                continue
            claimed = ~answer.flagged(X.shape[0])
            f = get_activation(activation).f
            with np.errstate(all="ignore"):
                Z = answer.value
                residual = np.linalg.norm(Z - f(Z @ params["W"].T + X @ params["U"].T + params["b"]), axis=1)
            worst = max(worst, float(np.max(residual[claimed], initial=0.0)))
        worst = max(worst, self.twin(h, activations, notes))
        return self.result(worst, "largest residual of a sample claimed converged; " + "; ".join(notes))


class VecGradient(VectorCheck):
    id, cites, threshold = "vec-gradient-ift", "VEC-FP-2", GRADIENT_THRESHOLD
    activations = ("tanh", "sigmoid", "softplus", "identity")

    def run_vector(self, h, activations):
        """∇R of R = mean((vᵀz − t)²) against the built-in adjoint ((I − SW)ᵀw = ∂ℓ/∂z) at
        ‖W‖₂L ∈ {0.5, 0.9}: a Jacobian-free, truncated or transposed backward fails."""
        worst, notes, certificates = 0.0, [], ReferenceCertificates()
        for activation in activations:
            for q in (0.5, 0.9):
                params, X, targets = vector_problem(activation, q, k=4, seed=11)
                exact = reference_gradient(params, X, targets, activation)
                values = _values(params)
                certificates.vector_gradient(VectorDEQ(values.width, activation), values, X, targets, exact)
                error = gradient_error(h.gradient_vector(params, X, targets, activation), exact)
                notes.append(f"{activation} q={q}: {error:.2g}")
                worst = max(worst, error)
        return self.result(worst, join_notes("max |g − g*|/max |g*|", *notes, certificates.note()))


def identity_defects(params, gradient, activation) -> float:
    """Relative defect of the exact identities with a given gradient: VEC-ORTH and VEC-SCALE
    (linear σ), VEC-BAL (ReLU and linear)."""
    k, d = params["W"].shape[0], params["U"].shape[1]
    G = split_flat(gradient, k, d)
    W, U, b, v = params["W"], params["U"], params["b"], params["v"]
    A = np.eye(k) - W
    defects = []
    if activation == "identity":
        orth = G["W"] @ A.T - G["U"] @ U.T - np.outer(G["b"], b)
        size = np.abs(G["W"]) @ np.abs(A).T + np.abs(G["U"]) @ np.abs(U).T + np.outer(np.abs(G["b"]), np.abs(b))
        defects.append(np.max(np.abs(orth)) / max(np.max(size), 1e-300))
        scale = float(G["v"] @ v - np.sum(G["W"] * A))
        defects.append(abs(scale) / max(float(np.abs(G["v"]) @ np.abs(v) + np.sum(np.abs(G["W"] * A))), 1e-300))
    balance = (np.sum(G["W"] * W, axis=1) - np.sum(G["W"] * W, axis=0) + np.sum(G["U"] * U, axis=1)
               + G["b"] * b - G["v"] * v)
    size = (np.sum(np.abs(G["W"] * W), axis=1) + np.sum(np.abs(G["W"] * W), axis=0)
            + np.sum(np.abs(G["U"] * U), axis=1) + np.abs(G["b"] * b) + np.abs(G["v"] * v))
    defects.append(float(np.max(np.abs(balance) / np.maximum(size, 1e-300))))
    worst = max(defects)
    return worst if np.isfinite(worst) else float("inf")


class VecIdentities(VectorCheck):
    id, cites, threshold = "vec-identities", "VEC-ORTH, VEC-SCALE, VEC-BAL", IDENTITY_THRESHOLD
    activations = ("identity", "relu")

    def run_vector(self, h, activations):
        """The exact symmetry identities evaluated with the implementation's own gradient
        (linear: VEC-ORTH, VEC-SCALE, VEC-BAL; ReLU: VEC-BAL). A gradient off by any amount
        that is not a symmetry direction breaks them; VEC-ORTH alone is blind to the
        backward (it encodes Az = Ux + b), VEC-SCALE and VEC-BAL are not."""
        worst, notes = 0.0, []
        for activation in activations:
            params, X, targets = vector_problem(activation, 0.7, k=4, seed=13)
            answer = h.gradient_vector(params, X, targets, activation)
            defect = float("inf") if not answer.ok else identity_defects(params, answer.value, activation)
            notes.append(f"{activation}: {defect:.2g}")
            worst = max(worst, defect)
        return self.result(worst, "relative defect; " + "; ".join(notes))


class VecRadius(VectorCheck):
    id, cites, threshold = "vec-radius", "VEC-RADIUS", IDENTITY_THRESHOLD
    activations = ("identity",)
    STEPS, STEP = 20, 0.02

    def run_vector(self, h, activations):
        """20 GD steps with the implementation's gradient on a linear vector DEQ: each step
        must grow Q = AAᵀ + UUᵀ + bbᵀ by exactly η²(G_W G_Wᵀ + G_U G_Uᵀ + g_b g_bᵀ)."""
        params, X, targets = vector_problem("identity", 0.5, k=3, seed=17)
        k, d = 3, params["U"].shape[1]
        worst = 0.0
        for _ in range(self.STEPS):
            answer = h.gradient_vector(params, X, targets, "identity")
            if not answer.ok:
                return self.result(float("inf"), f"gradient: {answer.describe()}")
            G = split_flat(answer.value, k, d)
            after = {"W": params["W"] - self.STEP * G["W"], "U": params["U"] - self.STEP * G["U"],
                     "b": params["b"] - self.STEP * G["b"], "v": params["v"] - self.STEP * G["v"]}

            def Q(p):
                A = np.eye(k) - p["W"]
                return A @ A.T + p["U"] @ p["U"].T + np.outer(p["b"], p["b"])

            predicted = self.STEP ** 2 * (G["W"] @ G["W"].T + G["U"] @ G["U"].T + np.outer(G["b"], G["b"]))
            increment = Q(after) - Q(params)
            size = self.STEP * (np.abs(G["W"]).sum() + np.abs(G["U"]).sum() + np.abs(G["b"]).sum()) \
                * max(np.abs(np.eye(k) - params["W"]).max(), np.abs(params["U"]).max(), np.abs(params["b"]).max(), 1.0)
            worst = max(worst, float(np.max(np.abs(increment - predicted)) / size))
            params = after
        return self.result(worst if np.isfinite(worst) else float("inf"),
                           "max |ΔQ − η²GGᵀ| relative to the step's cross terms, over 20 steps")


class VecIllPosed(VectorCheck):
    id, cites, threshold = "vec-ill-posed", "VEC-FP-1", DUE_THRESHOLD
    activations = ("identity", "tanh", "sigmoid", "softplus")

    def run_vector(self, h, activations):
        """Singular I − W (linear): every sample must be flagged (raise or NaN). W = −(3/L)·I
        (‖W‖₂L = 3, yet z − σ(−3z/L + p) is increasing, so the root is unique): each sample
        must be right or flagged. The well-posed twin must be answered."""
        worst, notes = 0.0, []
        if "identity" in activations:
            params, X, _ = vector_problem("identity", 0.5, k=3, n=8, seed=19)
            A = np.array([[1.0, 2.0, 0.0], [2.0, 4.0, 0.0], [0.0, 0.0, 1.0]])  # rank 2
            params["W"] = np.eye(3) - A
            answer = h.forward_vector(params, X, "identity")
            unflagged = int((~answer.flagged(X.shape[0])).sum()) if answer.ok else 0
            notes.append(f"singular I − W: {unflagged} of {X.shape[0]} samples unflagged")
            worst = max(worst, float("inf") if unflagged else 0.0)
        for activation in (a for a in activations if a != "identity"):
            params, X, _ = vector_problem(activation, 0.5, k=3, n=32, seed=23)
            params["W"] = -(3.0 / get_activation(activation).lipschitz) * np.eye(3)
            truth, _ = reference_Z(params, X, activation, allow_noncontractive=True)
            answer = h.forward_vector(params, X, activation)
            if answer.ok:
                errors = row_errors(answer.value, truth)
                wrong = float(np.max(errors[~answer.flagged(X.shape[0])], initial=0.0))
                notes.append(f"{activation} W = −(3/L)I: unflagged error {wrong:.2g}")
                worst = max(worst, wrong)
        worst = max(worst, self.twin(h, [a for a in activations if a != "identity"] or activations, notes))
        return self.result(worst, "; ".join(notes))


class VecIsolation(VectorCheck):
    id, cites, threshold = "vec-isolation", "VEC-FP-1", DUE_THRESHOLD
    activations = ("tanh", "sigmoid", "softplus", "relu")
    SIZES = (64, 1_000, 10_000)

    def run_vector(self, h, activations):
        """At n ∈ {64, 10³, 10⁴} (‖W‖₂L = 0.9): the clean batch must be right (1e-8, due);
        appending a NaN row or a hard row (inputs × 10³) must leave every other sample right
        (1e-8 of its fixed point: a change within that is the solver's own tolerance, beyond it
        one sample corrupting another). The NaN row must be flagged (NaN out, or a raise: the
        only batch allowed to raise); the hard row must be right (1e-8) or flagged."""
        activation = activations[0]
        worst, notes = 0.0, []
        for n in self.SIZES:
            params, X, _ = vector_problem(activation, 0.9, k=4, n=n, seed=29)
            truth = reference_Z(params, X, activation)[0]
            clean = h.forward_vector(params, X, activation)
            accuracy = due(clean, truth)
            if accuracy > DUE_THRESHOLD:
                notes.append(f"n={n}: clean batch {describe_error(clean, accuracy)}")
                worst = float("inf")
                continue
            hard = X[:1] * 1e3
            for label, row, may_raise in (("NaN row", np.full((1, X.shape[1]), np.nan), True),
                                          ("hard row", hard, False)):
                mixed = h.forward_vector(params, np.vstack([X, row]), activation)
                if not mixed.ok:
                    error = 0.0 if may_raise else float("inf")
                    notes.append(f"n={n} {label}: raised")
                else:
                    error = due(mixed.rows(slice(0, n)), truth)
                    change = due(mixed.rows(slice(0, n)), clean.value)
                    flagged = bool(mixed.flagged(n + 1)[n])
                    if may_raise and not flagged:
                        error = float("inf")  # a finite answer for a NaN input is silent and wrong
                    elif not may_raise and not flagged:
                        error = max(error, due(mixed.rows(slice(n, None)), reference_Z(params, row, activation)[0]))
                    notes.append(f"n={n} {label}: others changed by {change:.2g}, "
                                 + describe_error(mixed.rows(slice(0, n)), error))
                worst = max(worst, error)
        return self.result(worst, "; ".join(notes))


class VecGradientBatch(VectorCheck):
    id, cites, threshold = "vec-gradient-batch", "VEC-FP-2", GRADIENT_THRESHOLD
    activations = ("tanh", "sigmoid", "softplus", "identity")

    def run_vector(self, h, activations):
        """Gradient accuracy at n ∈ {100, 1 000, 10 000}: a stopping rule on a norm over the
        whole batch lets per-sample errors grow with n."""
        activation, worst, notes = activations[0], 0.0, []
        for n in (100, 1_000, 10_000):
            params, X, targets = vector_problem(activation, 0.9, k=4, n=n, seed=31, spread=2.0)
            error = gradient_error(h.gradient_vector(params, X, targets, activation),
                                   reference_gradient(params, X, targets, activation))
            notes.append(f"n={n}: {error:.2g}")
            worst = max(worst, error)
        return self.result(worst, "; ".join(notes))


class VecDeterminism(VectorCheck):
    id, cites, threshold = "vec-determinism", "VEC-FP-1", 0.0

    def run_vector(self, h, activations):
        """Two identical calls (forward and gradient) return identical answers, and no call
        changes its arguments."""
        activation = activations[0]
        params, X, targets = vector_problem(activation, 0.7, seed=37)
        before = len(h.mutations)
        first, second = (h.forward_vector(params, X, activation) for _ in range(2))
        g1, g2 = (h.gradient_vector(params, X, targets, activation) for _ in range(2))
        differ = [name for name, (a, b) in (("forward", (first, second)), ("gradient", (g1, g2)))
                  if not (a.ok and b.ok and np.array_equal(a.value, b.value))]
        mutated = h.mutations[before:]
        worst = float("inf") if differ or mutated else 0.0
        return self.result(worst, f"differing: {differ or 'none'}; mutations: {mutated or 'none'}")


MEMORY_ROWS = (25_000, 50_000)
"""Two batch sizes: memory is judged by its growth between them (bytes per added sample), so
a fixed overhead (an interpreter's or a library's arena) does not count and a per-sample cost
does, whatever its constant."""


def memory_per_sample_allowance(k: int, d: int) -> float:
    """Bytes one sample may add: :data:`MEMORY_FACTOR` float64 copies of its input x (d), its
    state z (k) and its own k×k Jacobian — what a correct batched Newton or adjoint solve
    forms (n·k² floats is linear in n). Traces of every iteration ((n, k, iterations)) or any
    object coupling samples (an nk×nk Jacobian) grow faster and fail."""
    return MEMORY_FACTOR * 8.0 * (d + k + k * k)


class VecResources(VectorCheck):
    id, cites, threshold = "vec-resources", "VEC-FP-1", 1.0

    def run_vector(self, h, activations):
        """Forward + gradient cost exponent in n (n = 250 → 16 000 by doubling, k = 8, timed
        as in :func:`~deqverify.conformance.checks.resources.cost_exponent`) must be ≤ 1.5:
        every sample is an independent k-dimensional solve. The peak extra memory of one
        gradient call, at n = 25 000 and 50 000 (d = 10), may grow by at most
        :func:`memory_per_sample_allowance` bytes per added sample (8 copies of x, z and a k×k
        Jacobian): stored per-iteration traces or a coupled Jacobian fail. Score: the larger
        of exponent/1.5 and growth/allowance (≤ 1 passes)."""
        activation, k, d = activations[0], 8, 10

        def both(params, X, targets):
            def call():
                h.forward_vector(params, X, activation)
                h.gradient_vector(params, X, targets, activation)
            return call

        exponent, measured = cost_exponent(
            lambda n: both(*vector_problem(activation, 0.9, k=k, d=d, n=n, seed=41)),
            TIME_SIZES, h.note)
        notes = [exponent_note(exponent, measured)]
        score = judged_exponent(exponent, measured) / MAX_EXPONENT
        if score <= 1.0:  # only a linear implementation is given 50 000 rows
            peaks = []
            for n in MEMORY_ROWS:
                params, X, targets = vector_problem(activation, 0.9, k=k, d=d, n=n, seed=43)
                # warm-up at this shape, as the scalar check: compiling for it is not the call's memory
                h.gradient_vector(params, X, targets, activation)
                peaks.append(peak_extra_bytes(lambda: h.gradient_vector(params, X, targets, activation)))
            growth = (peaks[1] - peaks[0]) / (MEMORY_ROWS[1] - MEMORY_ROWS[0])
            allowed = memory_per_sample_allowance(k, d)
            notes.append(f"gradient peak +{peaks[0] / 2**20:.1f} → +{peaks[1] / 2**20:.1f} MiB at n = "
                         f"{MEMORY_ROWS[0]} → {MEMORY_ROWS[1]}: {growth:.0f} bytes per sample "
                         f"(allowed {allowed:.0f})")
            notes.append(memory_caveat())
            score = max(score, growth / allowed)
        return self.result(score, "; ".join(note for note in notes if note))


VECTOR_CHECKS = (VecForwardAccuracy(), VecHonestStatus(), VecGradient(), VecIdentities(),
                 VecRadius(), VecIllPosed(), VecIsolation(), VecGradientBatch(),
                 VecDeterminism(), VecResources())
