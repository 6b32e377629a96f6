"""What the layer checks share: the inputs they pose, the claim a layer's answers are held to,
and the reference (:mod:`deqverify.conformance.layer_reference`) at those inputs.

The claim. A layer that names its forward tolerance setting (``forward_tolerance``) claims,
for every sample it presents as converged, ‖f(z) − z‖ ≤ τ·max(1, ‖z‖) with τ that setting
(absolute and relative stopping rules both imply it); without a declared setting τ =
:data:`DEFAULT_TOLERANCE`. The checks allow :data:`RESIDUAL_SLACK`·√K·τ (per-sample norms
differ by up to √K between ℓ∞ and ℓ2 conventions), and an error ‖z − z*‖ of that residual
divided by σ_min(I − J) (first order), plus the reference's own error estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deqverify.conformance.checks.base import RNG_SEED, Check
from deqverify.conformance.layer_calls import LayerCalls
from deqverify.conformance.layer_protocol import is_layer
from deqverify.conformance.layer_reference import LayerMap, solve
from deqverify.conformance.protocol import ProtocolViolation

SEED = RNG_SEED + 900
BATCH = 256
DEFAULT_TOLERANCE = 1e-6
"""Residual a layer that declares no tolerance setting is held to (as vec-honest-status)."""
RESIDUAL_SLACK = 2.0
COUPLED_UNKNOWNS = 512
FLOOR = 1e-13
"""Smallest relative residual ever required: f itself costs a few hundred roundings (≈ 1e-14)."""


def layer_inputs(layer, n: int = BATCH, seed: int = 0):
    """(x, g): x rows N(0, 1)·s with s log-uniform in [1e-2, 10] (easy saturated samples and
    hard near-linear ones in one batch), g ~ N(0, 1). A coupled batch is one system of n·K
    unknowns for the reference (dense: K·n probes, an (nK)³ factorisation), so it gets at most
    :data:`COUPLED_UNKNOWNS` unknowns (and at least 8 rows)."""
    if not layer.declares.independent:
        K = int(np.prod(tuple(layer.state_shape), dtype=int))
        n = min(n, max(8, COUPLED_UNKNOWNS // K))
    rng = np.random.default_rng(SEED + seed)
    shape = tuple(layer.input_shape)
    scales = 10 ** rng.uniform(-2, 1, n)
    x = rng.standard_normal((n, *shape)) * scales.reshape((n,) + (1,) * len(shape))
    g = rng.standard_normal((n, *tuple(layer.state_shape)))
    return x, g


def claimed_tolerance(layer) -> tuple[float, str]:
    """(τ, where it came from): the declared forward tolerance setting, or the default."""
    name = layer.declares.forward_tolerance
    if name is not None and hasattr(layer, "settings"):
        value = layer.settings().get(name)
        try:  # a float, a numpy scalar or a 0-d array/tensor all hold a number
            number = float(value) if not isinstance(value, (bool, str)) else None
        except (TypeError, ValueError):
            number = None
        if number is not None and np.isfinite(number) and number >= 0:
            return max(number, FLOOR), f"{name} = {number:g}"
        return DEFAULT_TOLERANCE, (f"{name} = {value!r} is not a tolerance: held to "
                                   f"{DEFAULT_TOLERANCE:g}")
    return DEFAULT_TOLERANCE, f"no tolerance setting declared: held to {DEFAULT_TOLERANCE:g}"


def residual_allowance(layer) -> float:
    K = int(np.prod(tuple(layer.state_shape), dtype=int))
    return RESIDUAL_SLACK * np.sqrt(K) * claimed_tolerance(layer)[0]


def reference(layer, x, start=None):
    """(ReferenceSolution, LayerMap) of ``layer`` at inputs ``x``."""
    layer_map = LayerMap(layer, x, layer.declares.independent)
    return solve(layer_map, start), layer_map


def relative_residuals(layer, z, x) -> np.ndarray:
    """‖f(z) − z‖/max(1, ‖z‖) per sample, f evaluated by the checker; +inf where z is not finite."""
    n = z.shape[0]
    rows = z.reshape(n, -1)
    finite = np.all(np.isfinite(rows), axis=1)
    out = np.full(n, np.inf)
    if layer.declares.independent:
        if finite.any():
            with np.errstate(all="ignore"):
                image = np.asarray(layer.f(z[finite], np.asarray(x)[finite]), dtype=float)
            diff = np.linalg.norm(image.reshape(int(finite.sum()), -1) - rows[finite], axis=1)
            out[finite] = diff / np.maximum(1.0, np.linalg.norm(rows[finite], axis=1))
    elif finite.all():
        with np.errstate(all="ignore"):
            image = np.asarray(layer.f(z, x), dtype=float).reshape(n, -1)
        out = np.linalg.norm(image - rows, axis=1) / np.maximum(1.0, np.linalg.norm(rows, axis=1))
    return np.where(np.isfinite(out), out, np.inf)


def state_errors(z, truth) -> np.ndarray:
    """‖z − z*‖/max(1, ‖z*‖) per sample; +inf where z is not finite."""
    n = truth.shape[0]
    a, b = np.asarray(z, dtype=float).reshape(n, -1), truth.reshape(n, -1)
    with np.errstate(all="ignore"):
        errors = np.linalg.norm(a - b, axis=1) / np.maximum(1.0, np.linalg.norm(b, axis=1))
    return np.where(np.isfinite(errors), errors, np.inf)


def error_allowance(layer, solution) -> np.ndarray:
    """Per-sample relative error a correct answer may have: the allowed residual over
    σ_min(I − J), plus the reference's own error estimate (both relative to max(1, ‖z*‖))."""
    n = solution.z.shape[0]
    scale = np.maximum(1.0, np.linalg.norm(solution.z.reshape(n, -1), axis=1))
    with np.errstate(divide="ignore"):
        return (residual_allowance(layer) / np.where(solution.sigma_min > 0, solution.sigma_min, 0.0)
                + solution.error_estimate / scale)


def worst(values) -> float:
    """The largest of ``values`` with every non-finite one counted as +inf (Python's ``max``
    and numpy's ``nanmax`` would drop a NaN); 0 for none."""
    array = np.asarray(values if isinstance(values, np.ndarray) else list(values), dtype=float)
    return float(np.max(np.where(np.isfinite(array), array, np.inf), initial=0.0))


def max_difference(a, b) -> float:
    """max |a − b| over entries that are finite in both; +inf if the non-finite entries differ
    (NaN rows in the same places are the same answer, a flag given twice)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or not np.array_equal(np.isfinite(a), np.isfinite(b)) \
            or not np.array_equal(np.where(np.isfinite(a), 0, a), np.where(np.isfinite(b), 0, b), equal_nan=True):
        return float("inf")
    both = np.isfinite(a)
    return float(np.max(np.abs(a[both] - b[both]), initial=0.0))


GRADIENT_SENSITIVITY = 2.0
MAX_FORWARD_SLACK = 0.1
"""How much the layer's own forward error may cost its gradient. A state off by δ (relative)
moves J and ∂f/∂θ by ≈ ‖∂²f‖·δ, and the adjoint solve amplifies the change of J by 1/σ_min(I − J):
relative gradient error ≲ C·δ·(1 + 1/σ_min), with C = 2 bounding ‖∂²f‖/‖∂f‖ for saturating maps
(tanh: |σ''| ≤ 0.77) — an assumption, stated. δ per sample is the layer's residual over σ_min,
never more than its declared tolerance allows, and the total slack is capped at 0.1: beyond
that a comparison of gradients says nothing (a zero gradient is off by 1)."""


@dataclass
class GradientSetting:
    """Which samples a gradient comparison judges, and the tolerance it uses.

    ``judged``: the reference certified the sample (converged, ρ(J) < 1) and the layer presents
    it as converged — the cotangent is zeroed elsewhere for the layer and the oracle alike, so
    a flagged sample neither fails a correct layer nor buys a wrong one slack."""

    g: np.ndarray
    judged: np.ndarray
    tolerance: float
    state_error: float
    note: str


def gradient_setting(layer, calls: LayerCalls, x, g, solution) -> GradientSetting:
    n = x.shape[0]
    certified = solution.converged & (solution.rho_J < 1)
    answer = calls.solve(x, layer=layer)
    judged = certified & answer.claimed if answer.ok else np.zeros(n, dtype=bool)
    note = f"{int(judged.sum())} of {n} samples judged (certified by the reference, claimed by the layer)"
    if not judged.any():  # the layer flagged everything: judge it where the reference can, strictly
        judged, delta = certified, np.zeros(n)
        note = f"the layer flagged every certified sample: judged on {int(certified.sum())} with no forward slack"
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            residual = np.minimum(relative_residuals(layer, answer.value, x), residual_allowance(layer))
            delta = np.where(judged, residual / solution.sigma_min, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        slack = np.where(judged, GRADIENT_SENSITIVITY * delta * (1 + 1 / solution.sigma_min), 0.0)
    state_error = worst(delta[judged]) if judged.any() else 0.0
    tolerance = layer.declares.gradient_tolerance + min(worst(slack), MAX_FORWARD_SLACK)
    mask = judged.reshape((n,) + (1,) * (np.ndim(g) - 1))
    return GradientSetting(np.where(mask, g, 0.0), judged, tolerance, state_error, note)


def relative_gradient_error(gradient: dict | None, truth: dict) -> float:
    """max |g − g*| / max |g*| over every parameter; a missing or non-finite gradient is +inf."""
    if gradient is None:
        return float("inf")
    names = sorted(truth)
    a = np.concatenate([np.ravel(gradient[k]) for k in names])
    b = np.concatenate([np.ravel(truth[k]) for k in names])
    with np.errstate(all="ignore"):
        error = float(np.max(np.abs(a - b), initial=0.0) / max(np.max(np.abs(b), initial=0.0), np.finfo(float).tiny))
    return error if np.isfinite(error) else float("inf")


def cosine(gradient: dict, truth: dict) -> float:
    names = sorted(truth)
    a = np.concatenate([np.ravel(gradient[k]) for k in names])
    b = np.concatenate([np.ravel(truth[k]) for k in names])
    with np.errstate(all="ignore"):
        value = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    return value if np.isfinite(value) else float("-inf")


def layer_protocol_calls(calls: LayerCalls, n: int):
    """(label, call) for one call of every method of the layer protocol, float64 first."""
    layer = calls.layer
    x, g = layer_inputs(layer, n=n, seed=1)

    def parameters():
        params = layer.parameters()
        if not isinstance(params, dict) or not params:
            raise ProtocolViolation(f"parameters() returned {type(params).__name__}, expected a "
                                    "non-empty dict of arrays")
        rebuilt = calls.rebuilt("with_parameters", params)
        if not all(callable(getattr(rebuilt, m, None)) for m in ("f", "solve", "parameters")):
            raise ProtocolViolation(f"with_parameters returned {type(rebuilt).__name__}, not a layer")

    yield "parameters", parameters
    for dtype in layer.declares.dtypes:
        yield f"solve/{dtype}", lambda d=dtype: calls.solve(x.astype(d), status=False)
        if hasattr(layer, "solve_status"):
            yield f"solve_status/{dtype}", lambda d=dtype: calls.solve(x.astype(d))
    yield "f", lambda: calls.f(np.zeros((n, *tuple(layer.state_shape))), x)
    yield "backward", lambda: calls.backward(x, g)


class LayerCheck(Check):
    """A check of the layer protocol: skipped unless the implementation declares it."""

    family = "layer"

    def run(self, h):
        """Runs :meth:`run_layer` with numpy's floating-point warnings off: the layers under
        test are hostile (overflowing maps, NaN inputs), every non-finite value is scored as
        +inf, and a warning would only repeat that — or, where warnings are errors, abort the
        check instead of scoring it."""
        if not is_layer(h.impl):
            return self.skip("the layer protocol is not declared")
        with np.errstate(all="ignore"):
            return self.run_layer(LayerCalls(h))

    def run_layer(self, calls: LayerCalls):  # pragma: no cover - abstract
        raise NotImplementedError
