"""Calling an implementation under test as a hostile party: copies in, answers read by the
protocol's one rule, exceptions kept with their cause, mutations of the inputs recorded.

Every call gets fresh copies of θ, X and the targets, so a reference computed by the check
from its own arrays can never be changed by the implementation; the copies are compared
bitwise afterwards and any change is recorded (the ``no-mutation`` check reports it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from deqverify.conformance.protocol import ProtocolViolation, as_answer, as_converged


BANNER = re.compile(r"^\s*-{10,}\s*$", re.MULTILINE)
"""A line of dashes: Equinox (optimistix's runtime errors) appends a banner of generic advice
("try JAX_DISABLE_JIT=1", "see the docs") after the cause; what precedes it is the cause."""


def describe_exception(error: BaseException, lines: int = 3, width: int = 400) -> str:
    """The cause of an exception: its type and the last lines of its message before any
    advice banner (JAX and torch put the real reason at the end of a multi-line message,
    after an embedded traceback; Equinox puts generic advice after it, between lines of
    dashes; notes added with ``add_note``, like JAX's traceback-filtering hint, are left out).
    An explicitly chained cause (``raise … from cause``) is described too."""
    message = BANNER.split(str(error))[0]
    text = [line.strip() for line in message.splitlines()
            if line.strip() and not line.strip().startswith(('File "', "Traceback ("))]  # embedded tracebacks
    described = f"{type(error).__name__}: {' | '.join(text[-lines:])}"
    if error.__cause__ is not None and error.__cause__ is not error:
        described += f" (caused by {describe_exception(error.__cause__, lines, width)})"
    return described[-width:]


@dataclass
class Answer:
    """One call's outcome: the value read (None if the call raised) and its flags.

    ``flagged`` is per sample: a raise flags every sample, NaN/inf flags that sample, and a
    reported ``converged = False`` flags that sample.
    """

    value: np.ndarray | None
    converged: np.ndarray | None = None
    raised: str = ""

    @property
    def ok(self) -> bool:
        return self.value is not None

    def flagged(self, n: int) -> np.ndarray:
        if self.value is None:
            return np.ones(n, dtype=bool)
        flags = ~np.isfinite(self.value)
        if flags.ndim == 2:  # a vector answer: a sample is flagged by any non-finite entry
            flags = flags.any(axis=1)
        if self.converged is not None:
            flags |= ~self.converged
        return flags

    def rows(self, index) -> "Answer":
        """The answer restricted to some samples (a slice or mask)."""
        if self.value is None:
            return self
        return Answer(self.value[index], None if self.converged is None else self.converged[index])

    def describe(self) -> str:
        if self.value is None:
            return f"raised {self.raised[:200]}"
        bad = int(np.sum(~np.isfinite(self.value)))
        return f"{bad} of {self.value.size} non-finite" if bad else "finite"


@dataclass
class Harness:
    """Calls ``impl`` through the protocol; ``notes`` reach the parent as they are made."""

    impl: object
    name: str
    progress: object = None
    mutations: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    """Numbers a check reports beside its verdict (the layer summary line, the sweep)."""

    @property
    def capabilities(self):
        return self.impl.capabilities

    def note(self, text: str) -> None:
        self.notes.append(text)
        if self.progress is not None:
            self.progress(text)

    def _call(self, method: str, *arrays, activation: str):
        copies = [np.array(a, copy=True) for a in arrays]
        try:
            return getattr(self.impl, method)(*copies, activation), None
        except Exception as error:  # noqa: BLE001 - an exception is the implementation's answer
            return None, describe_exception(error)
        finally:
            for label, original, copy in zip(("theta", "X", "targets"), arrays, copies):
                if copy.shape != original.shape or not np.array_equal(copy, original, equal_nan=True):
                    self.mutations.append(f"{method} changed its argument {label}")

    @property
    def reports_status(self) -> bool:
        return bool(self.capabilities.reports_status) and hasattr(self.impl, "fixed_point_status")

    def forward(self, theta, X, activation: str, *, status: bool = True) -> Answer:
        """y for every row of X (with the status when the implementation reports one)."""
        n = np.shape(X)[0]
        if status and self.reports_status:
            raw, raised = self._call("fixed_point_status", theta, X, activation=activation)
            if raised:
                return Answer(None, raised=raised)
            if not isinstance(raw, (tuple, list)) or len(raw) != 2:
                raise ProtocolViolation("fixed_point_status must return a pair (y, converged), "
                                        f"got {type(raw).__name__}")
            y = as_answer(raw[0], (n,), "fixed_point_status")
            return Answer(y, as_converged(raw[1], n, "fixed_point_status"))
        raw, raised = self._call("fixed_point", theta, X, activation=activation)
        if raised:
            return Answer(None, raised=raised)
        return Answer(as_answer(raw, (n,), "fixed_point"))

    def _call_vector(self, method: str, params: dict, *arrays, activation: str):
        copies = {name: np.array(value, copy=True) for name, value in params.items()}
        array_copies = [np.array(a, copy=True) for a in arrays]
        try:
            return getattr(self.impl, method)(copies, *array_copies, activation), None
        except Exception as error:  # noqa: BLE001 - an exception is the implementation's answer
            return None, describe_exception(error)
        finally:
            for label, original in params.items():
                if not np.array_equal(copies[label], original, equal_nan=True):
                    self.mutations.append(f"{method} changed its argument params[{label!r}]")
            for label, original, copy in zip(("X", "targets"), arrays, array_copies):
                if copy.shape != original.shape or not np.array_equal(copy, original, equal_nan=True):
                    self.mutations.append(f"{method} changed its argument {label}")

    def forward_vector(self, params: dict, X, activation: str, *, status: bool = True) -> Answer:
        """Z (n, k) for every row of X (with the status when the implementation reports it)."""
        n, k = np.shape(X)[0], np.shape(params["W"])[0]
        if status and self.reports_status and hasattr(self.impl, "fixed_point_vector_status"):
            raw, raised = self._call_vector("fixed_point_vector_status", params, X, activation=activation)
            if raised:
                return Answer(None, raised=raised)
            if not isinstance(raw, (tuple, list)) or len(raw) != 2:
                raise ProtocolViolation("fixed_point_vector_status must return a pair (Z, converged)")
            return Answer(as_answer(raw[0], (n, k), "fixed_point_vector_status"),
                          as_converged(raw[1], n, "fixed_point_vector_status"))
        raw, raised = self._call_vector("fixed_point_vector", params, X, activation=activation)
        if raised:
            return Answer(None, raised=raised)
        return Answer(as_answer(raw, (n, k), "fixed_point_vector"))

    def gradient_vector(self, params: dict, X, targets, activation: str) -> Answer:
        """∇R as one flat vector (W, U row-major, b, v) read part by part from the dict."""
        raw, raised = self._call_vector("risk_gradient_vector", params, X, targets, activation=activation)
        if raised:
            return Answer(None, raised=raised)
        if not isinstance(raw, dict) or set(raw) != set(params):
            raise ProtocolViolation(f"risk_gradient_vector must return a dict with keys "
                                    f"{sorted(params)}, got {type(raw).__name__}"
                                    + (f" with keys {sorted(raw)}" if isinstance(raw, dict) else ""))
        parts = [as_answer(raw[name], np.shape(params[name]), f"risk_gradient_vector[{name!r}]").ravel()
                 for name in ("W", "U", "b", "v")]
        return Answer(np.concatenate(parts))

    def gradient(self, theta, X, targets, activation: str) -> Answer:
        """∇R(θ) of R = mean((y − t)²), as the implementation computes it."""
        raw, raised = self._call("risk_gradient", theta, X, targets, activation=activation)
        if raised:
            return Answer(None, raised=raised)
        return Answer(as_answer(raw, (np.shape(theta)[0],), "risk_gradient"))
