"""Certified fixed points of the vector DEQ z = σ(Wz + Ux + b) (VEC-FP-1) by the Krawczyk
test.

With F(z) = z − σ(Wz + p), p = Ux + b, a box Z = z̃ ± r (componentwise), the interval
Jacobian J(Z) = I − diag(σ'(WZ + p))·W and any real matrix R (here ≈ F'(z̃)⁻¹),

    K(Z) = z̃ − R·F(z̃) + (I − R·J(Z))·(Z − z̃).

If K(Z) ⊂ int Z, F has exactly one zero in Z, and it lies in K(Z) (Krawczyk 1969; Rump's
form). All products are Arb ball matrices from the exact float64 entries of W, U, b, x, z̃
and R, so a certificate is a proof; a box that does not contract is reported uncertified.
"""

from __future__ import annotations

import math

import numpy as np

from deqverify.certify.balls import down, hull, slope_bounds, up, value_point
from deqverify.certify.scalar import INFLATIONS, PRECISION, Enclosure, _floats, finite_rows_of
from deqverify.core.errors import InvalidInputError
from deqverify.core.validation import _as_float_array
from deqverify.core.vector_params import VectorParams


def _column(values):
    from flint import arb, arb_mat
    return arb_mat([[arb(float(v))] for v in values])


def _matrix(values):
    from flint import arb, arb_mat
    return arb_mat([[arb(float(v)) for v in row] for row in np.asarray(values)])


def krawczyk(W, p, z, R, radius: float, activation: str):
    """(K(Z), Z) as arb column matrices for the box z ± radius; ``p`` a ball column."""
    from flint import arb, arb_mat
    k = len(z)
    Wb, zc, Rb = _matrix(W), _column(z), _matrix(R)
    box = arb_mat([[arb(float(v), radius)] for v in z])
    pre_centre = Wb * zc + p
    F = arb_mat([[zc[i, 0] - value_point(activation, pre_centre[i, 0])] for i in range(k)])
    pre_box = Wb * box + p
    slopes = [hull(*slope_bounds(activation, down(pre_box[i, 0]), up(pre_box[i, 0]))) for i in range(k)]
    J = arb_mat([[(1 if i == j else 0) - slopes[i] * Wb[i, j] for j in range(k)] for i in range(k)])
    identity = arb_mat([[1 if i == j else 0 for j in range(k)] for i in range(k)])
    deviation = arb_mat([[arb(0, radius)] for _ in range(k)])
    return zc - Rb * F + (identity - Rb * J) * deviation, box


def certify_vector_sample(W, U, b, x, z, activation: str) -> list[Enclosure]:
    """Per-component enclosures of the unique fixed point in a box around ``z`` (or the
    reason none could be proved), for one sample."""
    from flint import arb
    k = len(z)
    if not np.all(np.isfinite(z)):
        return [Enclosure(math.nan, math.nan, False, "the answer to certify is not finite")] * k
    Ub, xc, bc = _matrix(U), _column(x), _column(b)
    p = Ub * xc + bc
    _, df_float = _float_slope(activation)
    slope = df_float(W @ z + U @ x + b)
    jacobian = np.eye(k) - slope[:, None] * W
    try:
        R = np.linalg.inv(jacobian)
    except np.linalg.LinAlgError:
        return [Enclosure(math.nan, math.nan, False, "F'(z̃) is singular at the answer")] * k
    pre = _matrix(W) * _column(z) + p
    residual = max(abs(float((arb(float(z[i])) - value_point(activation, pre[i, 0])).mid())) for i in range(k))
    return first_contracting_box(lambda radius: krawczyk(W, p, z, R, radius, activation), R, residual, z)


def first_contracting_box(operator, R, residual: float, z) -> list[Enclosure]:
    """Boxes z ± r with r the Newton step's size (‖R‖∞·|F(z̃)|, at least 4 eps·|z|) times each
    of :data:`INFLATIONS` in turn; ``operator(r)`` gives (K(Z), Z). The first box with
    K(Z) ⊂ int Z proves exactly one root, enclosed by K(Z); else the reason none did."""
    k = len(z)
    step = np.abs(R).sum(axis=1).max() * residual + 4 * np.finfo(float).eps * max(1.0, float(np.abs(z).max()))
    reason = "the Krawczyk box does not contract (K(Z) ⊄ int Z)"
    for factor in INFLATIONS:
        K, box = operator(step * factor)
        if not all(K[i, 0].is_finite() for i in range(k)):
            reason = "the ball evaluation is unbounded"
            continue
        if all(box[i, 0].contains_interior(K[i, 0]) for i in range(k)):
            return [Enclosure(*_floats(K[i, 0], K[i, 0]), True) for i in range(k)]
    return [Enclosure(math.nan, math.nan, False, reason)] * k


def _float_slope(activation):
    from deqverify.core.activations import get_activation
    act = get_activation(activation)
    return act.f, act.df


def vector_fixed_point(params, X, activation: str, answers=None) -> list[list[Enclosure]]:
    """Certified enclosures of every sample's fixed point (VEC-FP-1): a list per sample of k
    component enclosures. ``params``: a :class:`~deqverify.VectorParams`; ``answers`` the
    float64 fixed points to certify (default: deqverify's own solver). A row of X that is not
    finite is ``certified = False`` with the reason, never an error for the whole batch."""
    from flint import ctx
    X, finite_rows = finite_rows_of(X)
    if not isinstance(params, VectorParams):
        raise InvalidInputError(f"params must be a deqverify.VectorParams(W, U, b, v), got {type(params).__name__}")
    W, U, b = (np.asarray(getattr(params, name), dtype=float) for name in ("W", "U", "b"))
    if answers is None:
        from deqverify.core.vector_model import VectorDEQ
        answers = VectorDEQ(W.shape[0], activation, allow_noncontractive=True).fixed_point(params, X).value
    answers = _as_float_array(answers, "answers")
    if answers.size != X.shape[0] * W.shape[0]:
        raise InvalidInputError(f"answers has {answers.size} values; it must hold one fixed point of "
                                f"width {W.shape[0]} for each of the {X.shape[0]} rows of X")
    answers = answers.reshape(X.shape[0], W.shape[0])
    unfinite = [Enclosure(math.nan, math.nan, False, "the input row is not finite")] * W.shape[0]
    with ctx.workprec(PRECISION):
        return [certify_vector_sample(W, U, b, x, z, activation) if ok else unfinite
                for x, z, ok in zip(X, answers, finite_rows)]
