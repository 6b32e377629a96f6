"""Certified fixed points of the scalar DEQ y = σ(a + θ₂y), a = θ₁ᵀx (FP-1, FP-3).

Interval Newton on g(y) = y − σ(a + θ₂y): for a ball Y and its centre ỹ,

    N(Y) = ỹ − g(ỹ) / g'(Y),   g'(Y) = 1 − θ₂σ'(a + θ₂Y) (a ball).

If 0 ∉ g'(Y) and N(Y) ⊂ int Y, then Y holds exactly one root, and it lies in N(Y) (every
root in Y is in N(Y) by the mean value theorem; g is strictly monotone on Y). Every quantity
is an Arb ball computed from the exact float64 inputs, so the statement is a proof, not an
estimate. A sample that cannot be certified says why (NaN input, a box that does not
contract, g' not bounded away from 0), never returns a false enclosure.

:func:`enclose_roots` finds *every* root of one sample in a box that must contain them all
(σ's range, or a bound for softplus), by subdivision: a piece on which the ball g(Y)
excludes 0 has no root; a piece interval Newton certifies has exactly one; what is left is
bisected down to a width below which the count is reported incomplete (a tangency).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from deqverify.certify.balls import down, require_ball_activation, slope_bounds, up, value_bounds, value_point
from deqverify.core.errors import InvalidInputError, NonFiniteInputError
from deqverify.core.validation import _as_float_array, as_data, as_theta

PRECISION = 128
"""Bits of the ball arithmetic: the enclosures' own rounding (2⁻¹²⁸ relative) is far below
the float64 answers they certify, so the certified radius is set by the float64 residual."""
INFLATIONS = (0.25, 1.0, 16.0, 256.0, 4096.0, 65536.0)
"""The candidate box is the Newton step's size times these factors (tried in turn): a box a
little wider than the step is what contracts, a much wider one may not (g' varies). The
narrowest comes first for a root next to a kink: ReLU at θ₂ = −1e15 has its root 1e-15 from
u = 0, where a box only a few steps wide already straddles the kink and g' spans [1, 1e15]."""
SPLIT = 0.4871
"""Where a piece of the root search is split (not at 1/2, see :func:`enclose_roots`)."""
MIN_WIDTH = 1e-12
"""Root search: pieces narrower than this (relative to max(1, |y|)) are not split further;
one left unresolved makes the count incomplete (two roots closer than this, or a tangency)."""


@dataclass(frozen=True)
class Enclosure:
    """[low, high] holds exactly one root (proved) when ``certified``; else ``reason`` says
    why not (and low, high are NaN)."""

    low: float
    high: float
    certified: bool
    reason: str = ""
    stable: bool | None = None
    """θ₂σ'(u) < 1 at the root, proved from the ball (the root damped iteration reaches);
    False: proved ≥ 1 (repelling); None: the ball straddles 1."""

    @property
    def radius(self) -> float:
        return (self.high - self.low) / 2

    def contains(self, value: float) -> bool:
        return self.certified and self.low <= value <= self.high


def _precision():
    from flint import ctx
    return ctx.workprec(PRECISION)


def _floats(low, high) -> tuple[float, float]:
    """A float64 interval that contains [low, high] (outward rounded)."""
    return (math.nextafter(float(low.lower()), -math.inf), math.nextafter(float(high.upper()), math.inf))


def _stability(theta2: float, s_low, s_high):
    """θ₂σ'(u) < 1 on the enclosure (stable), ≥ 1 (repelling), or undecided (None)."""
    from flint import arb
    t2 = arb(theta2)
    gains = (t2 * s_low, t2 * s_high)
    if all(gain < 1 for gain in gains):
        return True
    if all(gain >= 1 for gain in gains):
        return False
    return None


def _pre_activation(offset, theta2: float, low, high):
    """[a + θ₂·low, a + θ₂·high] (ends swapped for θ₂ < 0), outward; ``offset`` a ball."""
    from flint import arb
    t2 = arb(theta2)
    ends = (offset + t2 * low, offset + t2 * high)
    if theta2 < 0:
        ends = ends[::-1]
    return down(ends[0]), up(ends[1])


def _g_at(offset, theta2: float, activation: str, y):
    """g(y) = y − σ(a + θ₂y) as a ball at an exact y."""
    from flint import arb
    return y - value_point(activation, offset + arb(theta2) * y)


def newton_step(offset, theta2: float, activation: str, low, high):
    """N([low, high]) = ỹ − g(ỹ)/g'([low, high]) as (low, high), or (None, why)."""
    from flint import arb
    centre = down((low + high) / 2)
    g = _g_at(offset, theta2, activation, centre)
    if not g.is_finite():
        return None, "σ could not be enclosed at the centre (an unbounded ball)"
    s_low, s_high = slope_bounds(activation, *_pre_activation(offset, theta2, low, high))
    t2 = arb(theta2)
    ends = (1 - t2 * s_high, 1 - t2 * s_low) if theta2 >= 0 else (1 - t2 * s_low, 1 - t2 * s_high)
    d_low, d_high = down(ends[0]), up(ends[1])
    if not (d_low > 0 or d_high < 0):
        return None, "g'(Y) = 1 − θ₂σ'(a + θ₂Y) contains 0 (a tangency or several roots)"
    quotients = [q for q in (down(g) / d_low, down(g) / d_high, up(g) / d_low, up(g) / d_high)]
    q_low = down(quotients[0]).min(down(quotients[1])).min(down(quotients[2])).min(down(quotients[3]))
    q_high = up(quotients[0]).max(up(quotients[1])).max(up(quotients[2])).max(up(quotients[3]))
    return (down(centre - q_high), up(centre - q_low)), ""


def newton_certify(offset, theta2: float, activation: str, low, high):
    """(N, "") when interval Newton proves one root in [low, high] — N ⊂ (low, high), and
    the root lies in N — or (None, why)."""
    step, reason = newton_step(offset, theta2, activation, low, high)
    if step is None:
        return None, reason
    if not (step[0] > low and step[1] < high):
        return None, "the Newton box does not contract (N(Y) ⊄ int Y)"
    return step, ""


def tighten(offset, theta2: float, activation: str, low, high, rounds: int = 8):
    """Iterate Y ← N(Y) ∩ Y on a box already proved to hold the unique root: each iterate
    still holds it (mean value theorem, 0 ∉ g'(Y)), and the width shrinks quadratically
    until the arithmetic's own rounding."""
    for _ in range(rounds):
        step, _ = newton_step(offset, theta2, activation, low, high)
        if step is None:
            break
        new_low, new_high = step[0].max(low), step[1].min(high)
        if not (new_high - new_low < high - low):
            break
        low, high = new_low, new_high
    return low, high


def _offset_ball(theta1, x):
    """a = Σ θ₁ᵢxᵢ as a ball from the exact float64 entries."""
    from flint import arb
    total = arb(0)
    for t, v in zip(theta1, x):
        total += arb(float(t)) * arb(float(v))
    return total


def certify_box(offset, theta2: float, activation: str, low, high) -> Enclosure:
    """The certificate for [low, high] if interval Newton proves one root there."""
    found, reason = newton_certify(offset, theta2, activation, low, high)
    if found is None:
        return Enclosure(math.nan, math.nan, False, reason)
    low, high = tighten(offset, theta2, activation, *found)
    slopes = slope_bounds(activation, *_pre_activation(offset, theta2, low, high))
    return Enclosure(*_floats(low, high), True, "", _stability(theta2, *slopes))


def piecewise_linear_root(offset, theta2: float, activation: str) -> Enclosure | None:
    """The identity and ReLU by cases (no Newton box: next to ReLU's kink at θ₂ = −10²³⁸ a
    float64 centre is relatively 10⁻¹⁶ off a root that a box must resolve to 10⁻²³⁸). Linear:
    y = a/(1 − θ₂), the only root for θ₂ ≠ 1. ReLU with θ₂ < 1: g(y) = y − relu(a + θ₂y) has
    g' ≥ 1 − max(θ₂, 0) > 0, so one root, y = a/(1 − θ₂) if a > 0 and 0 if a < 0 (the hull
    of both where the enclosure of a holds 0). None where the cases do not apply."""
    from flint import arb
    t2 = arb(theta2)
    if activation == "identity" and theta2 != 1.0:
        root = offset / (1 - t2)
        return Enclosure(*_floats(root, root), True, "", theta2 < 1)  # θ₂σ' = θ₂
    if activation != "relu" or not theta2 < 1.0:
        return None
    if offset > 0:
        root = offset / (1 - t2)
        low, high = down(root), up(root)
    elif offset < 0:
        low = high = arb(0)
    else:
        low, high = arb(0), up(up(offset) / (1 - t2)).max(arb(0))
    return Enclosure(*_floats(low, high), True, "", True)


def certify_sample(offset, theta2: float, activation: str, guess: float) -> Enclosure:
    """Certify the root near ``guess`` (a float64 answer) for one sample."""
    from flint import arb
    if not math.isfinite(guess):
        return Enclosure(math.nan, math.nan, False, f"the answer to certify is {guess} (not finite)")
    by_cases = piecewise_linear_root(offset, theta2, activation)
    if by_cases is not None:
        return by_cases
    centre = arb(guess)
    g = _g_at(offset, theta2, activation, centre)
    s_low, s_high = slope_bounds(activation, *_pre_activation(offset, theta2, centre, centre))
    slope = 1 - arb(theta2) * (s_low + s_high) / 2
    if not (g.is_finite() and slope.is_finite()) or slope.contains(0):
        return Enclosure(math.nan, math.nan, False, "g'(ỹ) = 1 − θ₂σ'(u) is 0 or unbounded at the answer")
    # the Newton step plus a few ulps of the answer (relative: at θ₂ ≪ 0 the root is ~1/|θ₂|)
    step = abs(float((g / slope).mid())) + 4 * np.finfo(float).eps * abs(guess) + 1e-300
    first = None
    for factor in INFLATIONS:
        radius = arb(step * factor)
        enclosure = certify_box(offset, theta2, activation, centre - radius, centre + radius)
        if enclosure.certified:
            return enclosure
        first = first or enclosure  # the smallest box's reason is the telling one
    return first


def fixed_point(theta, X, activation: str, answers=None) -> list[Enclosure]:
    """Per-sample certified enclosures of y = σ(θ₁ᵀx + θ₂y) (FP-1).

    ``answers``: the float64 values to certify (default: deqverify's own solver, which needs
    θ₂L < 1; for several roots use :func:`enclose_roots`). The enclosure holds the root that
    interval Newton isolates around the answer; compare the answer with it
    (:meth:`Enclosure.contains`). A sample whose root cannot be isolated near its answer, or
    whose row or answer is not finite, is ``certified = False`` with the reason — never a
    false certificate."""
    X, finite_rows = finite_rows_of(X)
    theta = as_theta(theta, X.shape[1])
    require_ball_activation(activation)
    if answers is None:
        from deqverify.core.models import LinearDEQ, SingleIndexDEQ
        model = LinearDEQ() if activation == "identity" else SingleIndexDEQ(activation)
        answers = model.fixed_point(theta, X).value
    answers = _as_float_array(answers, "answers").reshape(-1)
    if answers.size != X.shape[0]:
        raise InvalidInputError(f"answers has {answers.size} values for {X.shape[0]} rows of X")
    with _precision():
        return [certify_sample(_offset_ball(theta[:-1], x), float(theta[-1]), activation, float(y)) if ok
                else Enclosure(math.nan, math.nan, False, "the input row is not finite")
                for x, y, ok in zip(X, answers, finite_rows)]


def finite_rows_of(X):
    """(X with its non-finite entries replaced by 0, which rows were finite): X is checked for
    shape and type like everywhere else, but a NaN row is an uncertified sample, not an error
    for the whole batch."""
    array = _as_float_array(X, "X")
    finite = np.isfinite(array)
    rows = finite.all(axis=1) if getattr(array, "ndim", 0) == 2 else None
    return as_data(np.where(finite, array, 0.0)), rows


def _search_box(offset: float, theta2: float, activation: str):
    """An interval [low, high] (exact Arb numbers) that contains every root of y = σ(a + θ₂y);
    the upper end of the softplus/ReLU box is computed in Arb and rounded up (in float64 the
    +1 vanishes for a ≥ 2⁵³ and the box ended below the root)."""
    from flint import arb
    if activation == "tanh":
        return arb(-1), arb(1)
    if activation == "sigmoid":
        return arb(0), arb(1)
    if activation in ("softplus", "relu"):
        # y ≥ 0 and y ≤ max(0, a + θ₂y) + log 2 ⇒ for θ₂ < 1: y ≤ (max(a, 0) + 1)/(1 − max(θ₂, 0))
        if theta2 >= 1:
            raise InvalidInputError(
                f"enclose_roots: θ₂ = {theta2:g} ≥ 1 with {activation}: the roots are not confined to "
                "a box (y = σ(a + θ₂y) can have a root at any size); use θ₂ < 1")
        high = up((arb(max(offset, 0.0)) + 1) / (1 - arb(max(theta2, 0.0))))
        if not math.isfinite(float(high.upper())):
            raise InvalidInputError(f"enclose_roots: a = {offset:g}, θ₂ = {theta2:g} put the roots beyond "
                                    "the float64 range, where an enclosure cannot be reported")
        return arb(0), high
    raise InvalidInputError(f"enclose_roots handles tanh, sigmoid, softplus and relu, not {activation!r} "
                            "(the linear DEQ has one root: use fixed_point)")


MAX_PIECES = 4096
"""Pieces the root search examines before it reports an incomplete count: near a tangency
(a double root) the pieces cannot be excluded and would be split down to MIN_WIDTH, which
took minutes; the count is then honestly incomplete."""


@dataclass(frozen=True)
class RootCount:
    roots: list
    complete: bool
    """Every piece of the search box was resolved: the list is *all* the roots."""


def enclose_roots(offset: float, theta2: float, activation: str) -> RootCount:
    """Every root of y = σ(a + θ₂y) for one offset a (float64, exact), each certified with
    its stability class (FP-3: the multi-root grid)."""
    from flint import arb
    require_ball_activation(activation)
    offset, theta2 = _finite_number(offset, "offset"), _finite_number(theta2, "theta2")
    roots, complete, examined = [], True, 0
    with _precision():
        low, high = _search_box(offset, theta2, activation)
        a = arb(offset)
        pieces = [(low, high)]
        while pieces:
            examined += 1
            if examined > MAX_PIECES:
                complete = False
                break
            lo, hi = pieces.pop()
            # g(Y) ⊂ [lo − σ(u_high), hi − σ(u_low)]: no root where that excludes 0
            u_low, u_high = _pre_activation(a, theta2, lo, hi)
            f_low, f_high = value_bounds(activation, u_low, u_high)
            if lo - f_high > 0 or hi - f_low < 0:
                continue
            enclosure = certify_box(a, theta2, activation, lo, hi)
            if enclosure.certified:
                roots.append(enclosure)
                continue
            if float(hi - lo) < MIN_WIDTH * max(1.0, abs(float(lo)), abs(float(hi))):
                complete = False
                continue
            # split off-centre: a root at a simple dyadic point (0, the middle of a symmetric
            # box) would sit on the boundary of both halves, where no Newton box contains it
            middle = down(lo + (hi - lo) * SPLIT)
            pieces += [(lo, middle), (middle, hi)]
    roots.sort(key=lambda e: e.low)
    return RootCount(_distinct(roots), complete)


def _finite_number(value, name: str) -> float:
    """A finite real number (a typed error names what was given otherwise)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidInputError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    try:
        value = float(value)
    except OverflowError:
        raise InvalidInputError(f"{name} = {value!r} is beyond the float64 range") from None
    if not math.isfinite(value):
        raise NonFiniteInputError(f"{name} is {value}: a certificate needs finite inputs")
    return value


def _distinct(roots):
    """Neighbouring pieces can certify the same root (a root on a piece boundary): keep one."""
    kept = []
    for root in roots:
        if kept and root.low <= kept[-1].high:
            continue
        kept.append(root)
    return kept
