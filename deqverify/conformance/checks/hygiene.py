"""Protocol, input mutation, determinism and float32: what a caller relies on before any
theorem comes into it."""

from __future__ import annotations

import numpy as np

from deqverify.conformance.checks.base import (
    Check,
    due_error,
    problem,
    reference_y,
    smooth,
    snippet,
)
from deqverify.conformance.checks.layer_common import layer_protocol_calls
from deqverify.conformance.checks.vector import vector_problem
from deqverify.conformance.layer_calls import LayerCalls
from deqverify.conformance.layer_protocol import REQUIRED_METHODS
from deqverify.conformance.protocol import FAMILY_METHODS, ProtocolViolation, declared_families


def missing_methods(impl) -> list[str]:
    """What a declared family needs and ``impl`` lacks (or cannot call); no family at all is
    itself a finding."""
    families = declared_families(impl)
    if not families:
        return ["declares no family: give it capabilities = Capabilities(...) (scalar/vector) "
                "or declares = LayerDeclaration(...) (any layer)"]
    needed = [m for family in sorted(families - {"layer"}) for m in FAMILY_METHODS[family]]
    needed += list(REQUIRED_METHODS) if "layer" in families else []
    problems = [f"{m} is missing or not callable" for m in needed if not callable(getattr(impl, m, None))]
    if "layer" in families:
        for attribute in ("input_shape", "state_shape"):
            shape = getattr(impl, attribute, None)
            if not (isinstance(shape, tuple) and all(isinstance(s, int) and s > 0 for s in shape)):
                problems.append(f"{attribute} = {shape!r} is not a tuple of positive ints")
    return problems


def _all_calls(h, n=8):
    """One call of every method of every declared family, for every declared activation and
    dtype (float64 first)."""
    families = declared_families(h.impl)
    if "layer" in families:
        yield from layer_protocol_calls(LayerCalls(h), n)
    if "scalar" not in families:
        return
    for activation in h.capabilities.activations:
        for dtype in h.capabilities.dtypes:
            theta, X, targets = problem(activation, 0.5, n=n)
            theta, X, targets = (a.astype(dtype) for a in (theta, X, targets))
            yield f"{activation}/{dtype}", lambda t=theta, x=X, a=activation: h.forward(t, x, a, status=False)
            if h.reports_status:
                yield f"{activation}/{dtype} status", lambda t=theta, x=X, a=activation: h.forward(t, x, a)
            if dtype == "float64":
                yield (f"{activation} gradient",
                       lambda t=theta, x=X, y=targets, a=activation: h.gradient(t, x, y, a))
    if getattr(h.capabilities, "vector", False):
        for activation in h.capabilities.vector_activations:
            params, X, targets = vector_problem(activation, 0.5, n=n)
            yield (f"{activation} vector", lambda p=params, x=X, a=activation: h.forward_vector(p, x, a, status=False))
            if h.reports_status and hasattr(h.impl, "fixed_point_vector_status"):
                yield (f"{activation} vector status", lambda p=params, x=X, a=activation: h.forward_vector(p, x, a))
            yield (f"{activation} vector gradient",
                   lambda p=params, x=X, y=targets, a=activation: h.gradient_vector(p, x, y, a))


class Protocol(Check):
    id, cites, threshold, family = "protocol", "—", 0.0, "any"

    def run(self, h):
        """Every method answers with the documented types and shapes (see
        :mod:`deqverify.conformance.protocol`): y of shape (n,), a gradient of shape (d+1,),
        ``converged`` a bool or (n,) bools, real dtypes. If this fails, the other checks are
        skipped: their scores would be meaningless. A declared family's method that is missing
        or not callable is a violation, and so is declaring no family."""
        problems = missing_methods(h.impl)
        if problems:
            return self.result(len(problems), "; ".join(problems))
        for label, call in _all_calls(h):
            try:
                call()
            except ProtocolViolation as violation:
                problems.append(f"{label}: {violation}")
        return self.result(len(problems), "; ".join(problems) or "every method answered in shape")


class NoMutation(Check):
    id, cites, threshold, family = "no-mutation", "—", 0.0, "any"

    def run(self, h):
        """θ, X and the targets (and a layer's x, g and its own parameters) are compared
        bitwise with copies after every call; a change seen in an earlier check of the same
        worker (``protocol`` runs first) is reported too."""
        for _, call in _all_calls(h, n=32):
            try:
                call()
            except ProtocolViolation:
                pass  # reported by the protocol check
        found = sorted(set(h.mutations))
        return self.result(len(found), "; ".join(found) or "no argument was changed")


class Determinism(Check):
    id, cites, threshold = "determinism", "FP-1", 0.0

    def run(self, h):
        """Two identical calls (fixed point and gradient, θ₂L = 0.7, n = 256) agree bitwise;
        a raise or a non-finite value on this well-posed problem is a failure (+inf)."""
        if not smooth(h):
            return self.skip("no smooth activation declared")
        activation = smooth(h)[0]
        theta, X, targets = problem(activation, 0.7, n=256)
        calls = (lambda: h.forward(theta, X, activation, status=False),
                 lambda: h.gradient(theta, X, targets, activation))
        worst, notes = 0.0, []
        for label, call in zip(("fixed_point", "risk_gradient"), calls):
            first, second = call(), call()
            if not (first.ok and second.ok) or not (np.all(np.isfinite(first.value))
                                                    and np.all(np.isfinite(second.value))):
                worst = np.inf
                notes.append(f"{label}: {first.describe()} then {second.describe()}")
                continue
            difference = float(np.max(np.abs(first.value - second.value)))
            notes.append(f"{label}: max difference {difference:.2g}")
            worst = max(worst, difference)
        return self.result(worst, "two identical calls, bitwise; " + "; ".join(notes))


class Float32(Check):
    id, cites, threshold = "float32", "FP-1", 1e-4

    def run(self, h):
        """float32 inputs (θ₂L = 0.5, cond ≤ 2) against the float64 root of the same rounded
        inputs: float32 rounding (6e-8) times cond, with room for a float32 stopping rule."""
        if "float32" not in h.capabilities.dtypes:
            return self.skip("float32 not declared")
        if not smooth(h):
            return self.skip("no smooth activation declared")
        activation = smooth(h)[0]
        theta, X, _ = problem(activation, 0.5)
        theta32, X32 = theta.astype(np.float32), X.astype(np.float32)
        answer = h.forward(theta32, X32, activation, status=False)
        truth = reference_y(theta32.astype(float), X32.astype(float), activation)
        worst = due_error(answer, truth)
        return self.result(worst, f"float32 in, float64 truth on the same inputs ({answer.describe()})",
                           snippet(h.name, "fixed_point", theta32, X32[:3], activation, truth[:3].tolist()))
