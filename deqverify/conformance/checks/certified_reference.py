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


def available() -> bool:
    return importlib.util.find_spec("flint") is not None


def join_notes(*notes: str) -> str:
    """The non-empty notes, joined by "; "."""
    return "; ".join(note for note in notes if note)


class ReferenceCertificates:
    """Collects the certificates of one check's references; :meth:`note` reports them."""

    def __init__(self):
        self.radius, self.proved, self.refused = 0.0, 0, []

    def _record(self, certified: bool, radius: float, reason: str) -> None:
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
        return f"reference certified (radius {self.radius:.1g})"
