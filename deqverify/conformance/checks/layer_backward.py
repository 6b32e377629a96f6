"""Layer checks of the backward pass: a gradient exists, it matches the oracle of the declared
mode (BWD-PHANTOM makes a phantom gradient exactly predictable), it is the derivative of the
solution in the *raw* parameters, the map's declared derivatives are those of f, and its
accuracy follows the backward's settings rather than the forward tolerance."""

from __future__ import annotations

import numpy as np

from deqverify.conformance.checks.layer_common import (
    GRADIENT_SENSITIVITY,
    LayerCheck,
    cosine,
    gradient_setting,
    layer_inputs,
    reference,
    relative_gradient_error,
    worst,
)
from deqverify.conformance.layer_protocol import BackwardMode
from deqverify.conformance.layer_reference import DIFFERENCE_STEP, adjoint

IFT, JFB = BackwardMode("ift"), BackwardMode("jfb")
DIRECTIONS = 2
DIFFERENCE_THRESHOLD = 1e-6
"""Directional derivatives by central differences of a solution solved to rounding: error
≈ eps^(2/3)·|ℓ|/(h·|∂ℓ|) ≈ 1e-9 for the scales posed; 1e-6 leaves a factor 1000 and is still
far below a missing reparameterisation's O(1) effect."""


def _direction(params: dict, seed: int) -> dict:
    """A random direction in the raw parameters, scaled entrywise like the parameters."""
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal(np.shape(v)) * np.maximum(np.abs(v), 0.1) for k, v in params.items()}


def _dot(a: dict, b: dict) -> float:
    return float(sum(np.sum(np.asarray(a[k]) * np.asarray(b[k])) for k in b))


def _moved(params: dict, direction: dict, step: float) -> dict:
    return {k: np.asarray(v, dtype=float) + step * direction[k] for k, v in params.items()}


class LayerGradientExists(LayerCheck):
    id, cites, threshold = "layer-gradient-exists", "—", 0.0

    def run_layer(self, calls):
        """Before any accuracy: ``backward(x, g)`` returns a finite gradient for every raw
        parameter (a backward that raises only when the loss is backpropagated, or returns
        NaN, fails here with the cause)."""
        x, g = layer_inputs(calls.layer)
        gradient, raised = calls.backward(x, g)
        if gradient is None:
            return self.result(np.inf, f"backward raised: {raised}")
        bad = [k for k, v in gradient.items() if not np.all(np.isfinite(v))]
        return self.result(len(bad), f"non-finite gradient for {bad}" if bad else
                           f"finite gradients for {sorted(gradient)}")


def _abs_dot(a: dict, b: dict) -> float:
    """Σ|aᵢbᵢ|: the scale of ⟨a, b⟩ that cancellation cannot shrink."""
    return float(sum(np.sum(np.abs(np.asarray(a[k]) * np.asarray(b[k]))) for k in b))


def _unrolled_error(calls, x, g, gradient) -> tuple[float, str]:
    """Largest |⟨∇, δ⟩ − D_δ ℓ| / Σ|∇ᵢδᵢ| with ℓ = Σ g·solve(x), D by central differences of
    the layer's own solve along random raw directions."""
    layer, params = calls.layer, calls.layer.parameters()
    errors = []
    for seed in range(DIRECTIONS):
        direction = _direction(params, seed)
        sides = []
        for sign in (1, -1):
            answer = calls.solve(x, layer=layer.with_parameters(_moved(params, direction, sign * DIFFERENCE_STEP)))
            sides.append(float(np.sum(g * answer.value)) if answer.ok else np.nan)
        derivative = (sides[0] - sides[1]) / (2 * DIFFERENCE_STEP)
        errors.append(abs(_dot(gradient, direction) - derivative) / max(_abs_dot(gradient, direction), 1e-300))
    error = worst(errors)
    return error, f"against central differences of solve along {DIRECTIONS} random directions: {error:.2g}"


class LayerBackward(LayerCheck):
    id, cites, threshold = "layer-backward", "BWD-PHANTOM", 1.0

    def run_layer(self, calls):
        """The gradient against the exact oracle of the declared mode: ``ift`` the adjoint
        (I − J)⁻ᵀ, ``phantom(k, τ)`` τΣ_{i<k}Bⁱ = (I − J)⁻¹(I − Bᵏ), ``jfb`` gᵀ∂f/∂θ (phantom(1,
        1)), ``unrolled`` central differences of ``solve``. Reports the error against IFT and JFB
        and the cosine with the exact gradient, and names the mode the gradient matches.

        Judged on the samples the reference certifies and the layer presents as converged (the
        cotangent is zero elsewhere, for the layer and the oracle alike). Allowed relative error:
        the declared ``gradient_tolerance`` plus what the layer's own forward error costs
        (:data:`~.layer_common.GRADIENT_SENSITIVITY`, capped at 0.1): a layer run at a loose
        forward tolerance is judged by that tolerance, not by rounding."""
        layer, declared = calls.layer, calls.layer.declares.backward
        x, g_all = layer_inputs(layer)
        solution, layer_map = reference(layer, x)
        setting = gradient_setting(layer, calls, x, g_all, solution)
        g, tolerance = setting.g, setting.tolerance
        gradient, raised = calls.backward(x, g)
        exact = adjoint(solution, layer_map, g, IFT)
        metrics = calls.h.metrics
        metrics["backward residual (reference adjoint)"] = exact.adjoint_residual
        if gradient is None:
            return self.result(np.inf, f"backward raised: {raised}")
        errors = {"IFT": relative_gradient_error(gradient, exact.gradient),
                  "JFB": relative_gradient_error(gradient, adjoint(solution, layer_map, g, JFB).gradient)}
        cos = cosine(gradient, exact.gradient)
        metrics.update({"gradient error vs IFT": errors["IFT"], "cos with IFT": cos})
        if declared.kind == "unrolled":
            error, what = _unrolled_error(calls, x, g, gradient)
        else:
            if declared.kind == "phantom":
                errors[str(declared)] = relative_gradient_error(
                    gradient, adjoint(solution, layer_map, g, declared).gradient)
            error = errors[{"ift": "IFT", "jfb": "JFB"}.get(declared.kind, str(declared))]
            what = f"error against {declared} {error:.2g}"
        metrics[f"gradient error vs declared ({declared})"] = error
        notes = [what + f" (allowed {tolerance:.2g})",
                 f"vs IFT {errors['IFT']:.2g}, vs JFB {errors['JFB']:.2g}, cos with IFT {cos:.3g}"
                 + (" — not a descent direction" if not cos > 0 else ""),
                 f"the forward's first-order state error {setting.state_error:.2g}; {setting.note}",
                 f"reference adjoint residual {exact.adjoint_residual:.2g}"]
        if error > tolerance or not np.isfinite(error):
            best = min(errors, key=lambda k: errors[k] if np.isfinite(errors[k]) else np.inf)
            if errors[best] <= tolerance:
                notes.insert(0, f"declared {declared}, but the backward matches {best} "
                                f"(error {errors[best]:.2g}; cos with the exact gradient {cos:.3g})")
        return self.result(error / tolerance, "; ".join(notes))


class LayerGradientRaw(LayerCheck):
    id, cites, threshold = "layer-gradient-raw", "—", 1.0

    def run_layer(self, calls):
        """Derivatives in the *raw* parameters by central differences of the reference
        solution z*(θ ± hδ) (rebuilt with ``with_parameters``, so a projection or
        reparameterisation inside f is included), along random directions δ, relative to
        Σ|∇ᵢδᵢ|: the exact IFT oracle from ``vjp_f_params`` must match them (within 1e-6),
        and so must the layer's gradient if it declares ``ift`` (within layer-backward's
        tolerance). A projection or reparameterisation left out of the backward fails here;
        for other declared modes only the reference's derivatives are checked."""
        layer = calls.layer
        x, g_all = layer_inputs(layer, n=16, seed=11)
        solution, layer_map = reference(layer, x)
        setting = gradient_setting(layer, calls, x, g_all, solution)
        g = setting.g
        oracle = adjoint(solution, layer_map, g, IFT).gradient
        gradient = calls.backward(x, g)[0] if layer.declares.backward.kind == "ift" else None
        params = layer.parameters()
        errors = {"oracle from vjp_f_params": [], "layer backward": []}
        for seed in range(DIRECTIONS):
            direction = _direction(params, 100 + seed)
            sides = []
            for sign in (1, -1):
                moved, _ = reference(layer.with_parameters(_moved(params, direction, sign * DIFFERENCE_STEP)),
                                     x, start=solution.z)
                sides.append(float(np.sum(g * moved.z)))
            derivative = (sides[0] - sides[1]) / (2 * DIFFERENCE_STEP)
            scale = max(_abs_dot(oracle, direction), np.finfo(float).tiny)
            errors["oracle from vjp_f_params"].append(abs(_dot(oracle, direction) - derivative) / scale)
            if gradient is not None:
                errors["layer backward"].append(abs(_dot(gradient, direction) - derivative) / scale)
        oracle_error, layer_error = worst(errors["oracle from vjp_f_params"]), worst(errors["layer backward"])
        score = max(oracle_error / DIFFERENCE_THRESHOLD, layer_error / setting.tolerance)
        if oracle_error > DIFFERENCE_THRESHOLD:
            verdict = ("; the derivatives of f in the raw parameters (vjp_f_params) miss a "
                       "reparameterisation or projection applied in f")
        elif score > 1:
            verdict = ("; the layer's gradient is not the derivative of its solution in the raw "
                       "parameters: an approximate backward (layer-backward names the mode it "
                       "matches) or a projection/reparameterisation left out of it")
        else:
            verdict = ""
        layer_part = (f", layer backward {layer_error:.2g} (allowed {setting.tolerance:.2g})" if gradient is not None
                      else f"; the layer declares {layer.declares.backward}: only the reference is checked")
        return self.result(score, "directional derivative vs differences of z*(θ) in raw parameters: "
                           f"oracle from vjp_f_params {oracle_error:.2g} (allowed {DIFFERENCE_THRESHOLD:g})"
                           + layer_part + verdict)


class LayerMapDerivatives(LayerCheck):
    id, cites, threshold = "layer-map-derivatives", "—", 1.0

    def run_layer(self, calls):
        """The derivatives of f the layer provides (``jvp_f``, ``vjp_f``, ``vjp_f_params``)
        agree with central differences of f along random directions (relative 1e-6): the
        reference trusts them, so they are checked first."""
        layer = calls.layer
        provided = [m for m in ("jvp_f", "vjp_f", "vjp_f_params") if hasattr(layer, m)]
        if not provided:
            return self.skip("no derivatives of f provided: the reference differentiates f itself")
        x, u = layer_inputs(layer, n=8, seed=13)
        z = reference(layer, x)[0].z
        rng = np.random.default_rng(17)
        v = rng.standard_normal(z.shape)
        h = DIFFERENCE_STEP
        with np.errstate(all="ignore"):
            jv = (np.asarray(layer.f(z + h * v, x)) - np.asarray(layer.f(z - h * v, x))) / (2 * h)
        errors = {}
        scale = max(float(np.abs(np.sum(u * jv))), float(np.linalg.norm(u) * np.linalg.norm(jv)) * 1e-3, 1e-300)
        if "jvp_f" in provided:
            errors["jvp_f"] = float(np.max(np.abs(np.asarray(layer.jvp_f(z, x, v)) - jv)) /
                                    max(float(np.max(np.abs(jv))), 1e-300))
        if "vjp_f" in provided:
            errors["vjp_f"] = abs(float(np.sum(np.asarray(layer.vjp_f(z, x, u)) * v)) - float(np.sum(u * jv))) / scale
        if "vjp_f_params" in provided:
            params = layer.parameters()
            direction = _direction(params, 19)
            sides = [float(np.sum(u * np.asarray(layer.with_parameters(_moved(params, direction, s * h)).f(z, x))))
                     for s in (1, -1)]
            derivative = (sides[0] - sides[1]) / (2 * h)
            claimed = _dot(layer.vjp_f_params(z, x, u), direction)
            errors["vjp_f_params"] = abs(claimed - derivative) / max(abs(derivative), 1e-300)
        score = worst(errors.values()) / DIFFERENCE_THRESHOLD  # a NaN derivative is +inf
        return self.result(score, ", ".join(f"{k} {v:.2g}" for k, v in errors.items())
                           + f" against central differences of f (allowed {DIFFERENCE_THRESHOLD:g})")


class LayerToleranceCoupling(LayerCheck):
    id, cites, threshold = "layer-tolerance-coupling", "—", 1.0

    def run_layer(self, calls):
        """Gradient accuracy must follow the backward's settings: if the gradient is outside
        its declared tolerance at the layer's settings while the forward was already accurate
        enough not to matter (its state error times the gradient sensitivity below a tenth of
        the gradient tolerance), and tightening only the forward tolerance (×1e-4) brings it
        within, the backward is tied to the forward tolerance knob. Score: error at the
        layer's settings over the tolerance, when that diagnosis holds."""
        layer = calls.layer
        name = layer.declares.forward_tolerance
        if name is None or not hasattr(layer, "with_settings"):
            return self.skip("no forward tolerance setting declared (forward_tolerance=...)")
        if layer.declares.backward.kind == "unrolled":
            return self.skip("backward declared unrolled: it follows the forward by definition")
        tolerance = layer.declares.gradient_tolerance
        x, g_all = layer_inputs(layer, seed=21)
        solution, layer_map = reference(layer, x)
        setting = gradient_setting(layer, calls, x, g_all, solution)
        oracle = adjoint(solution, layer_map, setting.g, layer.declares.backward).gradient
        tight = calls.rebuilt("with_settings", **{name: layer.settings()[name] * 1e-4})
        rows = []
        for label, which in (("at its settings", layer), (f"with {name} ×1e-4", tight)):
            rows.append((label, relative_gradient_error(calls.backward(x, setting.g, layer=which)[0], oracle)))
        (_, error0), (_, error1) = rows
        if not (np.isfinite(error0) or np.isfinite(error1)):
            return self.skip("no finite gradient at either setting (the backward raised or returned NaN, "
                             "which layer-gradient-exists reports): the coupling cannot be judged")
        negligible = GRADIENT_SENSITIVITY * setting.state_error <= 0.1 * tolerance
        coupled = error0 > tolerance and error1 <= tolerance and negligible
        note = (f"forward state error {setting.state_error:.2g} at its settings; "
                + "; ".join(f"gradient error {label} {e:.2g}" for label, e in rows))
        if coupled:
            note = (f"backward accuracy is tied to the forward tolerance setting {name!r} (the "
                    f"forward was already accurate; only {name} fixed the gradient): ") + note
        return self.result(error0 / tolerance if coupled else 0.0, note)
