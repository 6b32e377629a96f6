"""Typed errors. Every message says what was wrong and how to fix it.

All errors derive from :class:`DEQError`, itself a :class:`ValueError`, so callers that
already catch ``ValueError`` keep working.
"""

from __future__ import annotations


class DEQError(ValueError):
    """Base class of every deqverify error."""


class InvalidInputError(DEQError):
    """Inputs of the wrong shape, dtype or length."""


class NonFiniteInputError(InvalidInputError):
    """NaN or infinity in X, θ or the targets."""


class IllPosedError(DEQError):
    """The fixed-point equation has no root, or more than one, for these parameters."""


class NonContractiveError(IllPosedError):
    """θ₂ violates the well-posedness condition (FP-1/FP-3): several roots may exist.

    Raised when |θ₂|·L ≥ 1 for a non-monotone σ, or θ₂·L ≥ 1 for a nondecreasing σ.
    """


class SingularDEQError(IllPosedError):
    """The linear DEQ y = θ₁ᵀx + θ₂·y with θ₂ = 1: no solution or infinitely many (FP-3)."""


class NoFixedPointError(IllPosedError):
    """ReLU DEQ with θ₂ ≥ 1: no root when θ₁ᵀx > 0 and two when θ₁ᵀx < 0 (FP-3)."""


class ConvergenceError(DEQError):
    """A solver stopped without meeting its tolerance (raised by ``raise_for_status``)."""


class UncheckableError(DEQError):
    """A theorem's claim cannot be evaluated on this problem (e.g. a constant it needs is
    undefined because an assumption was dropped); reported, never counted as held."""


class UnknownIdError(DEQError, KeyError):
    """A statement or check id that does not exist (a KeyError too, for dict-style callers)."""

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class MissingExtraError(DEQError, ImportError):
    """An optional extra is needed (the message names the ``pip install`` that adds it)."""
