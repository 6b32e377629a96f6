"""Rigorous enclosures of the activations and their slopes, for certificates (Arb).

An interval is a pair (low, high) of exact Arb numbers. Values are enclosed from the two
ends (every built-in activation is nondecreasing); slopes from their shape (σ' ≥ 0 is
unimodal with its peak at 0 for sigmoid and tanh, monotone for softplus, a step for ReLU)
with the lower end kept ≥ 0 — what σ' ≥ 0 guarantees. Working with ends, not one ball, is
what keeps g' = 1 − θ₂σ' ≥ 1 provably positive at θ₂ = −10³⁰⁰: a ball of [1, 10³⁰⁰] has its
radius rounded up and reaches below 0. Point evaluations avoid exp of a large positive
argument (Arb returns an unbounded ball there).
"""

from __future__ import annotations

from deqverify.core.errors import InvalidInputError


def _arb():
    from flint import arb
    return arb


def down(ball):
    """An exact number ≤ every point of ``ball``."""
    return _arb()(ball.lower())


def up(ball):
    """An exact number ≥ every point of ``ball``."""
    return _arb()(ball.upper())


def hull(low, high):
    """The ball [low, high] (for matrix arithmetic: its radius is rounded up, so it is a
    slightly wider enclosure)."""
    return low.union(high)


# ---- point evaluations (a ball around one exact number) ----------------------------------

def _sigmoid_point(x):
    if x > 0:
        return 1 / (1 + (-x).exp())
    e = x.exp()
    return e / (1 + e)


def _softplus_point(x):
    if x > 0:
        return x + (-x).exp().log1p()
    return x.exp().log1p()


def _sech_squared_point(x):
    """sech²(x) for an exact x (0 where cosh overflows: the value is below any float)."""
    arb = _arb()
    c = abs(x).cosh()
    # beyond Arb's range sech² is below 2⁻¹⁰⁰⁰ but positive: [0, 2⁻¹⁰⁰⁰] encloses it
    return 1 / (c * c) if c.is_finite() else arb(0).union(arb(2) ** -1000)


def _relu_point(x):
    """max(x, 0) for a ball: x where certainly > 0, 0 where certainly ≤ 0, else [0, up(x)] (a
    ball straddling 0 — rounding around a pre-activation that cancels — holds both cases)."""
    if x > 0:
        return x
    if x <= 0:
        return _arb()(0)
    return hull(_arb()(0), up(x))


VALUES = {"sigmoid": _sigmoid_point, "tanh": lambda x: x.tanh(), "softplus": _softplus_point,
          "relu": _relu_point, "identity": lambda x: x}
SLOPE_PEAK = {"sigmoid": 0.25, "tanh": 1.0}


def value_point(name: str, x):
    """σ(x) as a ball, for an exact (or tight) x."""
    return _known(name, VALUES)(x)


def value_bounds(name: str, low, high):
    """(down σ(low), up σ(high)): σ is nondecreasing."""
    f = _known(name, VALUES)
    return down(f(low)), up(f(high))


def slope_bounds(name: str, low, high):
    """(s_low, s_high) with 0 ≤ s_low ≤ σ'(u) ≤ s_high on [low, high]."""
    arb = _arb()
    _known(name, VALUES)
    zero = arb(0)
    if name == "identity":
        return arb(1), arb(1)
    if name == "relu":
        if low > 0:
            return arb(1), arb(1)
        if high < 0:
            return zero, zero
        return zero, arb(1)
    if name == "softplus":  # σ' = sigmoid, nondecreasing
        s_low, s_high = down(_sigmoid_point(low)), up(_sigmoid_point(high))
        return (s_low if s_low > 0 else zero), s_high
    scale = arb(2) if name == "sigmoid" else arb(1)  # sigmoid' = sech²(u/2)/4
    peak = arb(SLOPE_PEAK[name])
    at_low, at_high = (_sech_squared_point(v / scale) * peak for v in (low, high))
    if not (low > 0 or high < 0):  # the peak at 0 is inside
        s_low, s_high = down(at_low).min(down(at_high)), peak
    elif high < 0:
        s_low, s_high = down(at_low), up(at_high)
    else:
        s_low, s_high = down(at_high), up(at_low)
    return (s_low if s_low > 0 else zero), s_high


def require_ball_activation(name: str) -> None:
    """A typed error for an activation without a rigorous enclosure."""
    _known(name, VALUES)


def _known(name: str, table):
    if not isinstance(name, str):
        raise InvalidInputError(f"activation must be a name (one of {sorted(table)}), got {name!r}")
    try:
        return table[name]
    except KeyError:
        raise InvalidInputError(
            f"no ball implementation for activation {name!r}: certificates exist for "
            f"{sorted(table)} (a user activation has no rigorous enclosure, so it cannot be "
            "certified — its answers are still checked in floating point)") from None
