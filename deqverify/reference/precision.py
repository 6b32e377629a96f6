"""mpmath working precision, set in a context manager and always restored."""

from __future__ import annotations

from contextlib import contextmanager

import mpmath

from deqverify.core.errors import InvalidInputError

MIN_DIGITS = 30
"""The reference refuses to run below 30 significant digits: at that precision a float64
quantity with condition number up to 10¹⁴ is still resolved to better than one ulp."""


@contextmanager
def working_precision(digits: int):
    """Run the enclosed block at ``digits`` decimal digits; restore mpmath's precision after.

    Raises :class:`InvalidInputError` below :data:`MIN_DIGITS`.
    """
    if digits < MIN_DIGITS:
        raise InvalidInputError(
            f"the mpmath reference needs at least {MIN_DIGITS} digits, got {digits}; "
            "pass digits >= 30 (the precision ladder uses 30, 60, 120)"
        )
    saved = mpmath.mp.prec
    mpmath.mp.dps = digits
    try:
        yield
    finally:
        mpmath.mp.prec = saved


def to_mp(value: float) -> mpmath.mpf:
    """Exact conversion of a float64 (every binary64 value is an mpf at ≥ 53 bits)."""
    return mpmath.mpf(float(value))


def to_float(value) -> float:
    """Correctly rounded conversion back to float64 (mpmath rounds to nearest)."""
    return float(mpmath.mpf(value))
