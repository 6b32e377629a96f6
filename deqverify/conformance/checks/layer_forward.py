"""Layer checks of the forward pass: residual honesty, accuracy against the reference, NaN
rows, float32, batch independence, determinism and instance isolation."""

from __future__ import annotations

import numpy as np

from deqverify.conformance.checks.certified_reference import ReferenceCertificates, join_notes
from deqverify.conformance.checks.layer_common import (
    LayerCheck,
    claimed_tolerance,
    error_allowance,
    gradient_setting,
    layer_inputs,
    max_difference,
    worst,
    reference,
    relative_residuals,
    residual_allowance,
    state_errors,
)

FLOAT32_ROUNDINGS = 16
"""float32 allowance: a float32 evaluation of f is within a few ulp per component, so the best
float32 fixed point is within ≈ c·eps₃₂·√K·max(1, ‖z*‖)/σ_min(I − J) of z*; c = 16 leaves room
for a deep map and the final rounding of z."""


def _worst(values: np.ndarray) -> tuple[float, int]:
    """(largest value, its index), every non-finite value counted as +inf; (0, −1) for none."""
    if values.size == 0:
        return 0.0, -1
    values = np.where(np.isfinite(values), values, np.inf)
    index = int(np.argmax(values))
    return float(values[index]), index


class LayerForwardResidual(LayerCheck):
    id, cites, threshold = "layer-forward-residual", "—", 1.0

    def run_layer(self, calls):
        """Every sample the layer presents as converged has ‖f(z) − z‖ within its declared
        tolerance (2·√K·τ·max(1, ‖z‖)), recomputed per sample from f; a non-finite state
        presented as converged is +inf. Two batches: the base one, and its easiest samples
        (the quarter with the smallest ρ(J) at the reference, each 4 times) with its hardest last — a stopping rule on one norm
        over the batch lets that sample carry the whole batch's residual. Score: worst
        residual / allowance."""
        layer = calls.layer
        x, _ = layer_inputs(layer)
        allowed = residual_allowance(layer)
        batches = {"base batch": x}
        if layer.declares.independent:
            order = np.argsort(reference(layer, x)[0].rho_J)
            easy = np.tile(order[: x.shape[0] // 4], 4)  # as many easy rows as the base batch has rows
            batches["easiest quarter ×4 + the hardest"] = x[np.r_[easy, order[-1]]]
        score, notes, largest, ratios = 0.0, [], 0.0, []
        for position, (label, inputs) in enumerate(batches.items()):
            answer = calls.solve(inputs)
            if not answer.ok:
                return self.result(np.inf, f"{label}: solve {answer.describe()}")
            residual = relative_residuals(layer, answer.value, inputs)
            if position == 0:  # for the HTML report's plot (inf stays inf: JSON writes Infinity)
                calls.h.metrics["residual per sample"] = residual.tolist()
            ratio, index = _worst(residual[answer.claimed] / allowed)
            where = f" (sample {np.flatnonzero(answer.claimed)[index]})" if index >= 0 else ""
            notes.append(f"{label}: largest residual of a sample presented as converged "
                         f"{ratio * allowed:.2g}{where}; {answer.describe()}")
            score, largest = max(score, ratio), max(largest, ratio * allowed)
            ratios.append(ratio)
        if len(ratios) == 2 and ratios[1] > 1 >= ratios[0]:
            notes.insert(0, "the hardest sample among easy ones is left outside the tolerance: "
                            "a stopping rule on one norm over the whole batch")
        calls.h.metrics["forward residual"] = largest
        return self.result(score, "; ".join(notes) + f"; allowed {allowed:.2g} ({claimed_tolerance(layer)[1]})")


class LayerForwardAccuracy(LayerCheck):
    id, cites, threshold = "layer-forward-accuracy", "—", 1.0

    def run_layer(self, calls):
        """‖z − z*‖/max(1, ‖z*‖) against the checker's Newton reference, per sample, where the
        reference converged with ρ(J) < 1 (an answer is due there: a flag or NaN is +inf).
        Allowed: the declared residual over σ_min(I − J) plus the reference's own error.
        Also reports ‖J‖₂ and ρ(J) at z* (dense per-sample SVD and eigenvalues)."""
        layer = calls.layer
        x, _ = layer_inputs(layer)
        solution, _ = reference(layer, x)
        answer = calls.solve(x)
        due = solution.converged & (solution.rho_J < 1)
        certificates = ReferenceCertificates()
        certificates.layer(layer, x, solution.z)
        notes = [join_notes(f"reference: {int(solution.converged.sum())} of {x.shape[0]} samples converged, "
                            f"residual ≤ {np.max(solution.residual):.2g}, ‖J‖₂ ≤ {np.max(solution.norm_J):.3g}, "
                            f"ρ(J) ≤ {np.max(solution.rho_J):.3g} (dense SVD/eigenvalues)", certificates.note())]
        calls.h.metrics.update({"‖J‖₂": float(np.max(solution.norm_J)), "ρ(J)": float(np.max(solution.rho_J))})
        if not due.any():
            return self.skip("the reference certified no sample of the base batch (no root found with "
                             "ρ(J) < 1): nothing to judge the layer against; " + notes[0])
        if not answer.ok:
            return self.result(np.inf, f"solve {answer.describe()}; " + notes[0])
        errors = state_errors(answer.value, solution.z)
        errors = np.where(answer.claimed, errors, np.inf)
        ratio = errors[due] / error_allowance(layer, solution)[due]
        score, index = _worst(ratio)
        if index >= 0:
            sample = np.flatnonzero(due)[index]
            notes.insert(0, f"worst sample {sample}: error {errors[sample]:.2g}"
                            + (" (flagged or non-finite although the reference solves it)"
                               if not answer.claimed[sample] else "")
                            + f", allowed {error_allowance(layer, solution)[sample]:.2g}")
        calls.h.metrics["forward error"] = worst(errors[due])
        return self.result(score, "; ".join(notes))


class LayerNaN(LayerCheck):
    id, cites, threshold = "layer-nan", "—", 0.0

    def run_layer(self, calls):
        """A NaN in one row of x: that sample must come back flagged (NaN, converged = False,
        or a raise), never as a finite converged state (NaN zeroed); for an independent batch,
        every other sample must keep its standing: answered within its error allowance of the
        reference, or flagged only if the clean batch flags it too (a layer that honestly
        cannot solve a sample is not blamed here for flagging it; layer-forward-accuracy is)."""
        layer = calls.layer
        x, _ = layer_inputs(layer, n=16, seed=3)
        poisoned = x.copy()
        poisoned[5] = np.nan
        answer = calls.solve(poisoned)
        if not answer.ok:
            return self.result(0.0, f"solve raised on a NaN input (a refusal of bad input): {answer.raised[:200]}")
        problems = []
        if answer.claimed[5]:
            problems.append("the NaN row came back as a converged finite state (the NaN was "
                            "zeroed or ignored)")
        n = len(x)
        others = np.arange(n) != 5
        if layer.declares.independent:
            solution, _ = reference(layer, x)
            clean = calls.solve(x)
            flagged_anyway = ~clean.claimed if clean.ok else np.ones(n, dtype=bool)
            errors = state_errors(answer.value, solution.z)
            wrong = answer.claimed & (errors > error_allowance(layer, solution))
            bad = others & (wrong | (~answer.claimed & ~flagged_anyway))
            if bad.any():
                problems.append(f"{int(bad.sum())} of {len(x) - 1} other samples flagged or changed (worst "
                                f"error {np.max(errors[bad]):.2g}): the NaN spread through the batch")
        elif np.any(answer.claimed & ~np.all(np.isfinite(answer.value.reshape(n, -1)), axis=1)):
            problems.append("a non-finite state presented as converged")
        return self.result(len(problems), "; ".join(problems) or
                           f"the NaN row is flagged, the others are untouched ({answer.describe()})")


class LayerFloat32(LayerCheck):
    id, cites, threshold = "layer-float32", "—", 1.0

    def run_layer(self, calls):
        """float32 inputs: every sample is due, within max(16·eps₃₂·√K, the declared residual)
        /σ_min(I − J) (relative) of the float64 fixed point of the same float32-rounded inputs
        and parameters — a float32 stopping rule that reports convergence far outside both
        rounding and the declared tolerance fails."""
        layer = calls.layer
        if "float32" not in layer.declares.dtypes:
            return self.skip("float32 not declared")
        x, _ = layer_inputs(layer)
        x32 = x.astype(np.float32)
        rounded = layer.with_parameters({k: np.asarray(v, dtype=np.float32).astype(float)
                                         for k, v in layer.parameters().items()})
        solution, _ = reference(rounded, x32.astype(float))
        answer = calls.solve(x32)
        if not answer.ok:
            return self.result(np.inf, f"solve {answer.describe()}")
        K = int(np.prod(tuple(layer.state_shape), dtype=int))
        scale = np.maximum(1.0, np.linalg.norm(solution.z.reshape(len(x), -1), axis=1))
        residual = max(FLOAT32_ROUNDINGS * np.finfo(np.float32).eps * np.sqrt(K), residual_allowance(layer))
        with np.errstate(divide="ignore"):  # rounding, or the layer's own declared tolerance
            allowed = residual / solution.sigma_min + solution.error_estimate / scale
        errors = np.where(answer.claimed, state_errors(answer.value, solution.z), np.inf)
        score, index = _worst(errors / allowed)
        return self.result(score, f"worst sample {index}: error {errors[index]:.2g} = "
                                  f"{errors[index] / np.finfo(np.float32).eps:.3g} ulp, allowed "
                                  f"{allowed[index]:.2g}; {answer.describe()}")


class LayerBatchIndependence(LayerCheck):
    id, cites, threshold = "layer-batch-independence", "—", 1.0

    def run_layer(self, calls):
        """For a layer declared ``independent``: each sample's state in the full batch, alone
        in a half batch and in a reversed batch differ by no more than their error allowances
        (so a batch-wide stopping rule within tolerance passes), and the gradient of the whole
        batch is the sum of the halves' gradients (within layer-backward's tolerance), on the
        samples the reference certifies and the layer claims."""
        layer = calls.layer
        if not layer.declares.independent:
            return self.skip(f"batch declared coupled: {layer.declares.reason}")
        x, g_all = layer_inputs(layer, seed=5)
        n = x.shape[0]
        solution, _ = reference(layer, x)
        allowed = error_allowance(layer, solution)
        setting = gradient_setting(layer, calls, x, g_all, solution)
        g = setting.g
        full = calls.solve(x)
        halves = [calls.solve(x[: n // 2]), calls.solve(x[n // 2:])]
        reverse = calls.solve(x[::-1])
        answers = [full.value if full.ok else None,
                   np.concatenate([a.value for a in halves]) if all(a.ok for a in halves) else None,
                   reverse.value[::-1] if reverse.ok else None]
        if any(a is None for a in answers):
            return self.result(np.inf, "a well-posed batch raised: " + "; ".join(
                a.describe() for a in (full, *halves, reverse)))
        score = 0.0
        for other in answers[1:]:
            change = state_errors(answers[0], other.reshape(answers[0].shape))
            with np.errstate(invalid="ignore"):  # inf/inf where the reference has no root: judged +inf
                score = max(score, worst(change[setting.judged] / (2 * allowed[setting.judged])))
        grads = [calls.backward(x, g)[0], calls.backward(x[: n // 2], g[: n // 2])[0],
                 calls.backward(x[n // 2:], g[n // 2:])[0]]
        note = (f"largest change of a state with the batch around it: {score:.2g} of its allowance "
                f"({setting.note})")
        if all(grad is not None for grad in grads):
            tolerance = setting.tolerance  # each half's forward may stop elsewhere within it
            parts = worst(float(np.max(np.abs(grads[0][k] - grads[1][k] - grads[2][k])))
                          / max(float(np.max(np.abs(grads[0][k]))), 1e-300) for k in grads[0])
            score = max(score, parts / tolerance)
            note += f"; gradient of the batch vs the sum of its halves: {parts:.2g} (allowed {tolerance:.2g})"
        else:
            score, note = float("inf"), note + "; backward raised on a well-posed batch"
        return self.result(score, note)


class LayerDeterminism(LayerCheck):
    id, cites, threshold = "layer-determinism", "—", 0.0

    def run_layer(self, calls):
        """Two identical calls of solve and of backward agree bitwise."""
        layer = calls.layer
        x, g = layer_inputs(layer, seed=7)
        first, second = calls.solve(x), calls.solve(x)
        if not (first.ok and second.ok):
            return self.result(np.inf, f"solve {first.describe()} then {second.describe()}")
        state = max_difference(first.value, second.value)  # the same NaN rows twice: identical
        a, b = calls.backward(x, g)[0], calls.backward(x, g)[0]
        if a is None or b is None:
            return self.result(np.inf, "backward raised on a well-posed batch")
        gradient = worst(max_difference(a[k], b[k]) for k in a)
        return self.result(max(state, gradient), f"max difference: state {state:.2g}, gradient {gradient:.2g}")


class LayerInstances(LayerCheck):
    id, cites, threshold = "layer-instances", "—", 0.0

    def run_layer(self, calls):
        """Building and running a second layer — other settings (``with_settings``: tolerance
        ×1e6 looser, iteration cap 1) and other parameters (``with_parameters``: ×0.5) — changes
        nothing of the first: its settings agree, and a repeated answer bitwise (or, for a
        nondeterministic layer, within 10× its own call-to-call variation)."""
        layer = calls.layer
        x, _ = layer_inputs(layer, n=16, seed=9)
        before, again = calls.solve(x), calls.solve(x)
        noise = (max_difference(before.value, again.value) if before.ok and again.ok
                 else 0.0)  # a nondeterministic layer (layer-determinism's finding) may vary this much
        if not np.isfinite(noise):
            noise = 0.0  # NaN patterns that differ between calls: judged bitwise below
        settings = layer.settings() if hasattr(layer, "settings") else None
        others = [calls.rebuilt("with_parameters", {k: 0.5 * np.asarray(v) for k, v in layer.parameters().items()})]
        declares = layer.declares
        if settings is not None and hasattr(layer, "with_settings"):
            changes = {}
            if declares.forward_tolerance in settings:
                changes[declares.forward_tolerance] = min(1e6 * claimed_tolerance(layer)[0], 0.1)
            if declares.iteration_cap in settings:
                changes[declares.iteration_cap] = 1
            if changes:
                others.append(calls.rebuilt("with_settings", **changes))
        for other in others:
            calls.solve(x, layer=other)
        after = calls.solve(x)
        problems = []
        if settings is not None and layer.settings() != settings:
            problems.append(f"settings changed from {settings} to {layer.settings()}")
        change = (max_difference(before.value, after.value)
                  if before.ok and after.ok else 0.0 if before.ok == after.ok else float("inf"))
        if change > 10 * noise and not (before.ok and np.array_equal(before.value, after.value, equal_nan=True)):
            problems.append(f"the first layer's answer changed by {change:.2g} after another "
                            "instance was built and run (shared state: class attributes or globals)")
        return self.result(len(problems), "; ".join(problems) or
                           f"{len(others)} other instance(s) built and run; the first is unchanged")


class LayerSettings(LayerCheck):
    id, cites, threshold = "layer-settings", "—", 0.0

    def run_layer(self, calls):
        """Every setting the layer was configured with had an effect: an adapter that can tell
        (``ignored_settings() -> list``) lists settings its library never read — a misspelled
        knob is silently ignored by most libraries."""
        layer = calls.layer
        if not hasattr(layer, "ignored_settings"):
            return self.skip("the layer cannot tell which settings its library read")
        ignored = list(layer.ignored_settings())
        return self.result(len(ignored), f"setting(s) {ignored} had no effect: the library never "
                                         "read them (misspelled?)" if ignored else "every setting was read")
