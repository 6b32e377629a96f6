"""Layer checks under stress: the near-instability sweep (ρ(∂f/∂z) through 0.9 … 1.1 and far
beyond, where plain iteration oscillates or diverges) and resources (time in the batch size,
memory in the iteration cap)."""

from __future__ import annotations

import numpy as np

from deqverify.conformance.checks.layer_common import (
    LayerCheck,
    error_allowance,
    gradient_setting,
    layer_inputs,
    reference,
    relative_gradient_error,
    relative_residuals,
    residual_allowance,
    state_errors,
)
from deqverify.conformance.checks.resources import (
    MAX_EXPONENT,
    cost_exponent,
    exponent_note,
    judged_exponent,
    memory_caveat,
    peak_extra_bytes,
)
from deqverify.conformance.layer_reference import adjoint

TARGETS = (0.9, 0.99, 1.0, 1.1)
FAR = (-3.0, 3.0)
"""Multiples of the scale at ρ = 1: −3 makes plain iteration oscillate (a bounded 2-cycle for a
saturating σ), +3 makes a linear or ReLU map expand (iterates run to inf)."""
RESCALE_STEPS, RHO_MATCH = 8, 0.005
TIME_SIZES = (64, 128, 256, 512, 1024, 2048, 4096)
LAYER_TIME_BUDGET, LAYER_ROUNDS_DEADLINE = 2.5, 5.0
"""A round of timings (every size once) is repeated while its CPU seconds stay under 2.5 and
the repeats so far took under 5 s of wall time: a layer's solve + backward at n = 4096 takes
~1 s, so the minimum of a few interleaved rounds is kept, which a burst of load on a shared
machine does not move, and the check (with its memory part) still ends within the default
15 s timeout."""
CAP_BATCH, CAPS = 4096, (25, 200)
PEAK_READINGS = 2
"""Resident-set readings of a capped solve, of which the smallest counts
(:func:`.resources.peak_extra_bytes`, which also maps every large buffer by itself); the caps
are 175 iterations apart so that a reading's noise (a few MiB) is a small fraction of a state
per iteration. Measured on torchdeq (MLP map, n = 4096, state 16): with tracemalloc running
during the reading and caps 25 → 100, as this check once did, the peak rose by 1.4–1.8
states per extra iteration, a false failure of every torchdeq configuration; with the reading
as it is now, by 0.1–0.5 at caps 25 → 100 and 0.32 at 25 → 400 — the per-sample statistics
torchdeq appends each iteration."""
TRACE_FRACTION = 0.5
"""Memory may not grow with the iteration cap by half a state (n·K floats) per iteration or
more: storing every iterate (a trace for Anderson's full history or for backpropagation
through the solver) grows by one state per iteration; a fixed window does not grow."""


def _scaled(layer, weights, c):
    return layer.with_parameters({k: (c * np.asarray(v) if k in weights else np.asarray(v))
                                  for k, v in layer.parameters().items()})


def _sweep_scales(layer, weights, x, note):
    """[(label, scale, ρ or None, the certified root or None)]: scales of the declared weights
    that put the largest ρ(J(z*)) of the batch at each target (c rescaled by target/ρ from the
    reference, continuing from the previous root), then aimed by the last certified ρ beyond
    what the reference could certify, then the far multiples."""
    solution, _ = reference(layer, x)
    c, rho, start = 1.0, float(np.max(solution.rho_J)), solution.z
    points, unit = [], None
    for target in TARGETS:
        reached, trial = None, c * target / rho if rho > 0 else c
        for _ in range(RESCALE_STEPS if rho > 0 else 0):
            candidate, _ = reference(_scaled(layer, weights, trial), x, start=start)
            if not candidate.all_converged:  # past a fold of some sample: step back halfway
                trial = (c + trial) / 2
                continue
            c, rho, start = trial, float(np.max(candidate.rho_J)), candidate.z
            if abs(rho - target) <= RHO_MATCH * target:
                reached = rho
                break
            trial = c * target / rho
        if reached is None:  # beyond what the reference certifies: extrapolate from the last ρ
            # ρ of the batch's worst sample need not be monotone in the scale (saturation), and
            # past a fold the reference cannot certify it: aim by the last certified ρ
            points.append((f"aimed at ρ = {target:g} (not certified)", c * target / rho if rho > 0 else c, None, None))
        else:
            points.append((f"ρ = {reached:.3g}", c, reached, start))
        if target == 1.0:
            unit = points[-1][1]
        note(f"sweep point {points[-1][0]} at weight scale {points[-1][1]:.4g}")
    points += [(f"weights ×{m:g} of ρ = 1 ({'oscillating' if m < 0 else 'expanding'})", m * unit, None, None)
               for m in FAR]
    return points


class LayerInstability(LayerCheck):
    id, cites, threshold = "layer-instability", "—", 0.0

    def run_layer(self, calls):
        """Scale the declared ``weights`` so that ρ(∂f/∂z) at z* moves through 0.9, 0.99, 1.0,
        1.1, then to −3× and +3× the ρ = 1 scale: at every point each sample is either flagged
        or right (residual within the declared tolerance, and within its error allowance of the
        reference where that converged with ρ < 1); an inf is never a fixed point. Score: the
        number of silently wrong samples; the note names the ρ where the first appeared. A
        solver that hangs here (an uncapped loop on a 2-cycle) fails by the timeout."""
        layer = calls.layer
        weights = layer.declares.weights
        if not weights:
            return self.skip("no weights declared (LayerDeclaration(weights=...)) to scale")
        x, g = layer_inputs(layer, n=16, seed=23)
        allowed = residual_allowance(layer)
        wrong_total, first, rows, sweep = 0, None, [], []
        for label, scale, rho, root in _sweep_scales(layer, weights, x, calls.h.note):
            scaled = _scaled(layer, weights, scale)
            calls.h.note(f"{label}: calling solve")
            answer = calls.solve(x, layer=scaled)
            if not answer.ok:
                rows.append(f"{label}: raised (a flag)")
                continue
            residual = relative_residuals(scaled, answer.value, x)
            wrong = answer.claimed & (residual > allowed)
            solution = None
            if rho is not None and rho < 1:  # the root the sweep certified by continuation
                solution, layer_map = reference(scaled, x, start=root)
                stable = solution.converged & (solution.rho_J < 1)
                errors = state_errors(answer.value, solution.z)
                wrong |= answer.claimed & stable & (errors > error_allowance(scaled, solution))
            count = int(wrong.sum())
            if count and first is None:
                first = label
            wrong_total += count
            infinite = int(np.sum(wrong & ~np.isfinite(residual)))
            rows.append(f"{label}: {int((~answer.claimed).sum())} flagged, {count} silently wrong"
                        + (f" (residual up to {np.max(residual[wrong]):.2g}"
                           + (f"; {infinite} overflowed (inf, or f(z) overflows) yet presented as "
                              "fixed points" if infinite else "")
                           + ")" if count else ""))
            point = {"point": label, "rho": rho, "max claimed residual":
                     float(np.max(residual[answer.claimed], initial=0.0))}
            if solution is not None and layer.declares.backward.kind != "unrolled":
                setting = gradient_setting(scaled, calls, x, g, solution)
                if setting.judged.any():  # only samples certified and claimed (flags are not errors)
                    oracle = adjoint(solution, layer_map, setting.g, layer.declares.backward).gradient
                    point["gradient error"] = relative_gradient_error(
                        calls.backward(x, setting.g, layer=scaled)[0], oracle)
            sweep.append(point)
        calls.h.metrics["sweep"] = sweep
        head = (f"first silently wrong answer at {first}" if first else
                "every sample right or flagged at every point")
        return self.result(wrong_total, head + "; " + "; ".join(rows))


class LayerResources(LayerCheck):
    id, cites, threshold = "layer-resources", "—", 1.0

    def run_layer(self, calls):
        """Time (CPU of the worker) of solve + backward grows at most like n^1.5 in the batch
        size (least-squares exponent over n = 64 … 4096); with an iteration cap (and a
        tolerance) declared, the peak memory of solve at n = 4096 (the smallest of
        :data:`PEAK_READINGS` readings) may not grow with the cap (25 → 200 iterations,
        tolerance 0) by half a state per iteration or more."""
        layer = calls.layer

        base_x, base_g = layer_inputs(layer, n=TIME_SIZES[0], seed=31)

        def call_at(n):
            # the same 64 samples repeated: every size has the same hardest sample, so a
            # solver that iterates until its slowest sample converges costs the same number
            # of iterations at every n, and the exponent measures the cost per sample
            reps = n // TIME_SIZES[0]
            x, g = np.tile(base_x, (reps,) + (1,) * (base_x.ndim - 1)), np.tile(base_g, (reps,) + (1,) * (base_g.ndim - 1))

            def call():
                layer.solve(x.copy())
                layer.backward(x.copy(), g.copy())
            return call

        exponent, measured = cost_exponent(call_at, TIME_SIZES, calls.h.note, LAYER_TIME_BUDGET,
                                           LAYER_ROUNDS_DEADLINE)
        notes, score = [exponent_note(exponent, measured)], judged_exponent(exponent, measured) / MAX_EXPONENT
        declares = layer.declares
        if declares.iteration_cap and hasattr(layer, "with_settings"):
            x, _ = layer_inputs(layer, n=CAP_BATCH, seed=33)
            state_bytes = x.shape[0] * int(np.prod(tuple(layer.state_shape), dtype=int)) * 8
            peaks = []
            for cap in CAPS:
                changes = {declares.iteration_cap: cap}
                if declares.forward_tolerance:
                    changes[declares.forward_tolerance] = 0.0
                capped = layer.with_settings(**changes)
                capped.solve(x.copy())  # warm-up at this shape
                peaks.append(peak_extra_bytes(lambda: capped.solve(x.copy()), readings=PEAK_READINGS))
            growth = (peaks[1] - peaks[0]) / (CAPS[1] - CAPS[0])
            score = max(score, growth / (TRACE_FRACTION * state_bytes))
            notes.append(f"peak memory of solve at n = {CAP_BATCH}: {peaks[0] / 2**20:.1f} MiB at "
                         f"{CAPS[0]} iterations, {peaks[1] / 2**20:.1f} MiB at {CAPS[1]} "
                         f"({growth / state_bytes:.2f} states per iteration)")
            calls.h.metrics["peak memory (MiB)"] = peaks[1] / 2**20
            notes.append(memory_caveat())
        return self.result(score, "; ".join(n for n in notes if n))
