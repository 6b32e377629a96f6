"""Input checks shared by models, risks and dynamics.

Arrays are converted to C-contiguous float64; float32, integer and boolean input is upcast
(exactly, for every integer below 2⁵³). Anything else raises a typed error that names the
argument, what was wrong and the fix.
"""

from __future__ import annotations

import numpy as np

from deqverify.core.errors import InvalidInputError, NonFiniteInputError


def _as_float_array(value, name: str) -> np.ndarray:
    try:
        array = np.asarray(value)
    except ValueError:  # ragged nested lists
        raise InvalidInputError(f"{name} is ragged (rows of different lengths); pass a "
                                "rectangular array") from None
    if array.dtype.kind not in "fiub":
        raise InvalidInputError(
            f"{name} has dtype {array.dtype}; pass real numbers (float64, float32 or "
            "integers are upcast to float64)"
        )
    return np.ascontiguousarray(array, dtype=np.float64)


def _require_finite(array: np.ndarray, name: str) -> None:
    # A sum is non-finite whenever an entry is (and, rarely, on overflow of finite entries):
    # one fast reduction instead of a boolean temporary the size of X.
    # an overflowing sum (inf, or NaN where +inf and −inf partial sums meet) only sends us to
    # the exact test
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(array.sum()):
            return
    bad = ~np.isfinite(array)
    if bad.any():
        where = np.argwhere(bad)[:5].tolist()
        raise NonFiniteInputError(
            f"{name} contains {int(bad.sum())} NaN/inf value(s), first at index "
            f"{where}; remove or impute those entries"
        )


def as_data(X) -> np.ndarray:
    """X as an (n, d) float64 array with finite entries and n, d ≥ 1."""
    X = _as_float_array(X, "X")
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise InvalidInputError(
            f"X must be a non-empty 2-D array of shape (n_samples, d), got shape {X.shape}; "
            "reshape a single sample with X[None, :] or 1-D data with X[:, None]"
        )
    _require_finite(X, "X")
    return X


def as_theta(theta, d: int | None = None) -> np.ndarray:
    """θ = (θ₁, θ₂) as one flat float64 vector of length d + 1, finite."""
    theta = _as_float_array(theta, "theta")
    if theta.ndim != 1 or theta.size < 2:
        raise InvalidInputError(
            f"theta must be one flat vector (θ₁, θ₂) of length d + 1 ≥ 2, got shape "
            f"{theta.shape}; build it with np.r_[theta1, theta2]"
        )
    if d is not None and theta.size != d + 1:
        raise InvalidInputError(
            f"theta has length {theta.size} but X has d = {d} columns; theta must have "
            f"length d + 1 = {d + 1} (θ₁ ∈ ℝᵈ followed by θ₂)"
        )
    _require_finite(theta, "theta")
    return theta


def as_vector(value, name: str, length: int) -> np.ndarray:
    """A finite float64 vector of the given length (targets, ξ)."""
    vector = _as_float_array(value, name)
    if vector.ndim != 1 or vector.size != length:
        raise InvalidInputError(
            f"{name} must be a flat vector of length {length}, got shape {vector.shape}"
        )
    _require_finite(vector, name)
    return vector


def as_count(value, name: str, minimum: int = 0) -> int:
    """An integer ≥ ``minimum`` (numpy integers accepted; 2.5, True, NaN and inf refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InvalidInputError(f"{name} must be an integer ≥ {minimum}, got {value!r}")
    if value < minimum:
        raise InvalidInputError(f"{name} must be an integer ≥ {minimum}, got {value}")
    return int(value)


def as_positive(value, name: str) -> float:
    """A finite real number > 0 (NaN, inf, 0, negatives and non-numbers refused)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} must be a positive finite number, got {value!r}") from None
    if isinstance(value, (bool, np.bool_, str)) or not (np.isfinite(number) and number > 0):
        raise InvalidInputError(f"{name} must be a positive finite number, got {value!r}")
    return number
