"""mpmath reference twin of the float64 core (see :mod:`.twin`) and its precision control."""

from deqverify.reference.precision import MIN_DIGITS, to_float, to_mp, working_precision
from deqverify.reference.twin import fixed_point, output_and_jacobian, risk_and_gradient

__all__ = ["MIN_DIGITS", "classify", "fixed_point", "output_and_jacobian", "risk_and_gradient",
           "to_float", "to_mp", "working_precision"]


def __getattr__(name):
    """``classify`` (the precision ladder) without an import cycle: it needs the catalogue."""
    if name == "classify":
        from deqverify.reference.ladder import classify

        return classify
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
