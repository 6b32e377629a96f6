"""Calling a layer (see :mod:`.layer_protocol`) as a hostile party: copies in, answers read by
the protocol's rule, exceptions kept with their cause, and any change to x, g or the layer's
own parameters recorded (the ``no-mutation`` check reports it)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deqverify.conformance.calls import describe_exception
from deqverify.conformance.protocol import ProtocolViolation, as_answer, as_converged


@dataclass
class LayerAnswer:
    """A forward answer: ``value`` (n, *state) or None after a raise; ``claimed`` per sample:
    the layer presents this sample as a fixed point (with a status: ``converged`` and not NaN;
    without: finite)."""

    value: np.ndarray | None
    claimed: np.ndarray
    raised: str = ""

    @property
    def ok(self) -> bool:
        return self.value is not None

    def describe(self) -> str:
        if self.value is None:
            return f"raised {self.raised[:200]}"
        n = self.claimed.size
        rows = self.value.reshape(n, -1)
        bad = int(np.sum(~np.all(np.isfinite(rows), axis=1)))
        parts = [f"{n - int(self.claimed.sum())} of {n} samples flagged"]
        if bad:
            parts.append(f"{bad} of {n} samples non-finite")
        return ", ".join(parts)


def _snapshot(layer) -> dict:
    try:
        return {name: np.array(value, copy=True) for name, value in layer.parameters().items()}
    except Exception:  # noqa: BLE001 - reported by the protocol check
        return {}


class LayerCalls:
    """The calls of the layer protocol on ``harness.impl`` (or another layer built from it)."""

    def __init__(self, harness):
        self.h = harness

    @property
    def layer(self):
        return self.h.impl

    def _watch(self, layer, method: str, call, **arrays):
        before = _snapshot(layer)
        copies = {label: np.array(a, copy=True) for label, a in arrays.items()}
        try:
            return call(**copies), ""
        except Exception as error:  # noqa: BLE001 - an exception is the layer's answer
            return None, describe_exception(error)
        finally:
            for label, original in arrays.items():
                copy = copies[label]
                if copy.shape != np.shape(original) or not np.array_equal(copy, original, equal_nan=True):
                    self.h.mutations.append(f"{method} changed its argument {label}")
            after = _snapshot(layer)
            for name, value in before.items():
                if name not in after or not np.array_equal(after[name], value, equal_nan=True):
                    self.h.mutations.append(f"{method} changed the layer's parameter {name!r}")

    def solve(self, x, layer=None, status: bool = True) -> LayerAnswer:
        """z for every row of x, with the per-sample claim (see :class:`LayerAnswer`)."""
        layer = self.layer if layer is None else layer
        n = np.shape(x)[0]
        shape = (n, *tuple(layer.state_shape))
        if status and hasattr(layer, "solve_status"):
            raw, raised = self._watch(layer, "solve_status", lambda x: layer.solve_status(x), x=x)
            if raised:
                return LayerAnswer(None, np.zeros(n, dtype=bool), raised)
            if not isinstance(raw, (tuple, list)) or len(raw) != 2:
                raise ProtocolViolation("solve_status must return a pair (z, converged), got "
                                        f"{type(raw).__name__}")
            value = as_answer(raw[0], shape, "solve_status")
            rows = value.reshape(n, -1)
            claimed = as_converged(raw[1], n, "solve_status") & ~np.any(np.isnan(rows), axis=1)
            return LayerAnswer(value, claimed)
        raw, raised = self._watch(layer, "solve", lambda x: layer.solve(x), x=x)
        if raised:
            return LayerAnswer(None, np.zeros(n, dtype=bool), raised)
        value = as_answer(raw, shape, "solve")
        return LayerAnswer(value, np.all(np.isfinite(value.reshape(n, -1)), axis=1))

    def backward(self, x, g, layer=None):
        """(gradient dict of float64 arrays, "") or (None, the exception's cause)."""
        layer = self.layer if layer is None else layer
        raw, raised = self._watch(layer, "backward", lambda x, g: layer.backward(x, g), x=x, g=g)
        if raised:
            return None, raised
        params = layer.parameters()
        if not isinstance(raw, dict) or not set(params) <= set(raw):
            keys = sorted(raw) if isinstance(raw, dict) else type(raw).__name__
            raise ProtocolViolation(f"backward must return a dict with a gradient for every "
                                    f"parameter {sorted(params)}, got {keys}")
        return {name: as_answer(raw[name], np.shape(params[name]), f"backward[{name!r}]")
                for name in params}, ""

    def f(self, z, x, layer=None) -> np.ndarray:
        layer = self.layer if layer is None else layer
        raw, raised = self._watch(layer, "f", lambda z, x: layer.f(z, x), z=z, x=x)
        if raised:
            raise ProtocolViolation(f"f raised on a finite state: {raised}")
        return as_answer(raw, np.shape(z), "f")

    def rebuilt(self, method: str, *args, **kwargs):
        """``with_parameters`` / ``with_settings`` on the layer, watched for mutation."""
        raw, raised = self._watch(self.layer, method, lambda: getattr(self.layer, method)(*args, **kwargs))
        if raised:
            raise ProtocolViolation(f"{method} raised: {raised}")
        return raw
