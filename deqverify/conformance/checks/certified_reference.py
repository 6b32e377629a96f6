"""Certificates for the references a check compares against (the [certify] extra).

Where python-flint is installed, each reference value a check uses is enclosed by proof
(:mod:`deqverify.certify`), and the check's note says "reference certified (radius r)": r is
the largest proved distance from the reference to the exact value, in the check's own error
measure (relative to max(1, |y|) for fixed points, to max |∇R| for gradients). A failure of
the implementation can then not be blamed on the reference: its error exceeds the threshold
by far more than r. Without the extra nothing is added; a reference that cannot be proved
says why.
"""

from __future__ import annotations

import importlib.util

import numpy as np

EPS = np.finfo(float).eps
LAYER_ROWS = 32
"""Samples of a layer's batch whose reference is proved: the Krawczyk test of a chain costs
O(K³·L) in ball arithmetic (≈ 25 ms a sample at K = 64, L = 3), so a 256-sample batch is
sampled, and the note says so."""


def available() -> bool:
    return importlib.util.find_spec("flint") is not None


def join_notes(*notes: str) -> str:
    """The non-empty notes, joined by "; "."""
    return "; ".join(note for note in notes if note)


class ReferenceCertificates:
    """Collects the certificates of one check's references; :meth:`note` reports them."""

    def __init__(self):
        self.radius, self.proved, self.refused, self.scope = 0.0, 0, [], ""

    def _record(self, certified: bool, radius: float, reason: str) -> None:
        if certified and not np.isfinite(radius):  # a NaN reference is never "certified"
            certified, reason = False, "the reference is not finite"
        if certified:
            self.proved += 1
            self.radius = max(self.radius, radius)
        else:
            self.refused.append(reason)

    def fixed_points(self, theta, X, activation: str, reference) -> None:
        """Scalar DEQ: enclosures of every root around the reference values."""
        if not available():
            return
        from deqverify import certify
        boxes = certify.fixed_point(theta, X, activation, answers=reference)
        self._record_boxes([[box] for box in boxes], np.asarray(reference, dtype=float).reshape(-1, 1))

    def vector_fixed_points(self, params, X, activation: str, reference) -> None:
        """Vector DEQ: Krawczyk enclosures of every sample around the reference rows."""
        if not available():
            return
        from deqverify import certify
        self._record_boxes(certify.vector_fixed_point(params, X, activation, answers=reference),
                           np.asarray(reference, dtype=float))

    def _record_boxes(self, boxes, reference) -> None:
        refused = [e.reason for box in boxes for e in box if not e.certified]
        if refused:
            self._record(False, 0.0, f"fixed point: {refused[0]}")
            return
        worst = 0.0
        for box, row in zip(boxes, reference):
            far = np.hypot.reduce([max(abs(v - e.low), abs(v - e.high)) for v, e in zip(row, box)])
            worst = max(worst, far / max(1.0, float(np.linalg.norm(row))))
        self._record(True, worst, "")

    def gradient(self, enclosure, reference) -> None:
        """An enclosure of ∇R (from :mod:`deqverify.certify`) against the reference gradient."""
        if not enclosure.certified:
            self._record(False, 0.0, f"gradient: {enclosure.reason}")
            return
        _, far = enclosure.gradient_distance(reference)
        self._record(True, far / max(float(np.max(np.abs(enclosure.gradient))), np.finfo(float).tiny), "")

    def scalar_gradient(self, theta, X, targets, activation: str, reference) -> None:
        if available():
            from deqverify import certify
            self.gradient(certify.empirical_risk(theta, X, targets, activation), reference)

    def vector_gradient(self, model, params, X, targets, reference) -> None:
        if available():
            from deqverify import certify
            self.gradient(certify.vector_empirical_risk(model, params, X, targets), reference)

    def note(self) -> str:
        """"reference certified (radius r)", why not, or "" without the extra."""
        if not available() or not (self.proved or self.refused):
            return ""
        if self.refused:
            return (f"reference not certified for {len(self.refused)} of {len(self.refused) + self.proved} "
                    f"cases ({self.refused[0]})")
        return f"reference certified{self.scope} (radius {self.radius:.1g})"

    def layer(self, layer, x, reference, rows: int = LAYER_ROWS) -> None:
        """A layer that declares its map as a chain of supported operations (``structure()``,
        independent batches): the declaration is first held to the layer's own f at the
        reference states and at perturbed ones (a declaration that is not the map proves
        nothing), then the reference fixed points of the first ``rows`` samples are proved by
        the Krawczyk test."""
        if not available() or not hasattr(layer, "structure") or not layer.declares.independent:
            return
        from deqverify.certify.layer import evaluate, layer_fixed_point
        if reference.shape[0] > rows:
            self.scope = f" on {rows} of {reference.shape[0]} samples"
            x, reference = x[:rows], reference[:rows]
        n = reference.shape[0]
        states = np.concatenate([reference, reference + 0.1 * np.random.default_rng(0).standard_normal(reference.shape)])
        inputs = np.concatenate([x, x])
        try:  # the layer is hostile: its declaration may raise, or not be a chain of its shapes
            structure = layer.structure()
            with np.errstate(all="ignore"):
                own = np.asarray(layer.f(states, inputs), dtype=float).reshape(2 * n, -1)
                declared = evaluate(structure, states.reshape(2 * n, -1), inputs.reshape(2 * n, -1))
            if declared.shape != own.shape:
                raise ValueError(f"the chain maps a state to shape {declared.shape[1:]}, f to {own.shape[1:]}")
            # both are a few roundings per layer of the chain: 64 eps·√K of the state's scale
            gap = float(np.max(np.abs(own - declared) / np.maximum(1.0, np.abs(own).max(axis=1, keepdims=True))))
            if not gap <= 64 * EPS * np.sqrt(own.shape[1]) * len(structure["layers"]):
                self._record(False, 0.0, f"the declared structure is not the layer's f (off by {gap:.2g})")
                return
            boxes = layer_fixed_point(structure, x.reshape(n, -1), reference.reshape(n, -1))
        except Exception as error:  # noqa: BLE001 - any failure of a declaration refuses the proof
            self._record(False, 0.0, f"structure() could not be evaluated ({type(error).__name__}: {error})"[:200])
            return
        self._record_boxes(boxes, reference.reshape(n, -1))
