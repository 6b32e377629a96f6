"""Plain mpmath twin of the vector DEQ z = σ(Wz + Ux + b), ŷ = vᵀz (VEC-FP-1, VEC-FP-2).

Per sample: z* by ``mpmath.findroot`` in k dimensions (multidimensional Newton with the
exact Jacobian I − SW), started from σ(Ux + b); the adjoint by ``mpmath.lu_solve`` on
(I − SW)ᵀ; the risk and its gradient as plain sums. Works at the precision of the enclosing
:func:`~deqverify.reference.precision.working_precision` block; inputs are float64 arrays
converted exactly, or mpmath matrices used as they are (exact GD steps on the ladder). Nothing here calls the float64 vector core.
"""

from __future__ import annotations

import mpmath

from deqverify.core.activations import Activation
from deqverify.reference.precision import to_mp
from deqverify.reference.twin import _require_twin

MAX_CONTRACTION_STEPS = 20_000
"""Contraction steps before Newton polishes: enough for 10⁻⁸ at ‖W‖₂L = 0.999."""


POLISH_STEPS = 2
"""Newton steps after findroot: quadratic convergence takes its 10⁻⁽ᵈᵖˢ⁻⁵⁾ to working precision."""


def _entry(value):
    """An mpf kept as is (exact GD steps in mpmath); a float converted exactly."""
    return value if isinstance(value, mpmath.mpf) else to_mp(float(value))


def _matrix(array):
    if isinstance(array, mpmath.matrix):
        return array
    return mpmath.matrix([[_entry(v) for v in row] for row in array])


def _column(values):
    if isinstance(values, mpmath.matrix):
        return values
    return mpmath.matrix([_entry(v) for v in values])


def _pre_activation(W, z, p):
    return W * z + p


def fixed_point(W, U, b, x, activation: Activation, start=None):
    """z* (an mpmath column) with z* = σ(Wz* + Ux + b)."""
    _require_twin(activation)
    Wm, p = _matrix(W), _matrix(U) * _column(x) + _column(b)
    k = Wm.rows

    def residual(*z):
        column = mpmath.matrix(list(z))
        u = _pre_activation(Wm, column, p)
        return [column[i] - activation.mp_f(u[i]) for i in range(k)]

    def jacobian(*z):
        u = _pre_activation(Wm, mpmath.matrix(list(z)), p)
        return mpmath.matrix([[(1 if i == j else 0) - activation.mp_df(u[i]) * Wm[i, j]
                               for j in range(k)] for i in range(k)])

    if start is None:
        start = [activation.mp_f(p[i]) for i in range(k)]
    tolerance = mpmath.mpf(10) ** (-(mpmath.mp.dps - 5))
    try:
        root = mpmath.findroot(residual, list(start), J=jacobian, tol=tolerance, maxsteps=200)
    except (ValueError, ZeroDivisionError):
        # Newton from a far start may wander; the contraction z ← σ(Wz + p) cannot (‖W‖₂L < 1):
        # iterate it into Newton's basin, then polish
        z = mpmath.matrix(list(start))
        for _ in range(MAX_CONTRACTION_STEPS):
            u = _pre_activation(Wm, z, p)
            nxt = mpmath.matrix([activation.mp_f(u[i]) for i in range(k)])
            if mpmath.norm(nxt - z) < mpmath.mpf(10) ** -8:
                z = nxt
                break
            z = nxt
        root = mpmath.findroot(residual, list(z), J=jacobian, tol=tolerance, maxsteps=200)
    root = root if isinstance(root, mpmath.matrix) else mpmath.matrix([root])
    for _ in range(POLISH_STEPS):  # findroot stops at its tolerance: finish to full precision
        root = root - mpmath.lu_solve(jacobian(*root), mpmath.matrix(residual(*root)))
    return root


def sample_gradient(W, U, b, v, x, target, activation: Activation):
    """(ℓ, ∇ℓ as dict W, U, b, v of mpmath matrices) for ℓ = (vᵀz − t)²  (VEC-FP-2):
    (I − SW)ᵀw = 2(vᵀz − t)v, ∇_W = (Sw)zᵀ, ∇_U = (Sw)xᵀ, ∇_b = Sw, ∇_v = 2(vᵀz − t)z."""
    Wm, Um, vm, xm = _matrix(W), _matrix(U), _column(v), _column(x)
    k = Wm.rows
    z = fixed_point(W, U, b, x, activation)
    u = _pre_activation(Wm, z, Um * xm + _column(b))
    slope = [activation.mp_df(u[i]) for i in range(k)]
    error = mpmath.fsum(vm[i] * z[i] for i in range(k)) - to_mp(float(target))
    transposed = mpmath.matrix([[(1 if i == j else 0) - Wm[j, i] * slope[j] for j in range(k)]
                                for i in range(k)])
    w = mpmath.lu_solve(transposed, 2 * error * vm)
    sw = mpmath.matrix([slope[i] * w[i] for i in range(k)])
    return error * error, {"W": sw * z.T, "U": sw * xm.T, "b": sw, "v": 2 * error * z}


def risk_and_gradient(W, U, b, v, X, targets, activation: Activation):
    """R = (1/n)Σ(vᵀzᵢ − tᵢ)² and its gradient parts (mpmath), summed sample by sample."""
    n = len(X)
    total, parts = mpmath.mpf(0), None
    for x, target in zip(X, targets):
        loss, gradient = sample_gradient(W, U, b, v, x, target, activation)
        total += loss
        parts = gradient if parts is None else {name: parts[name] + gradient[name] for name in parts}
    return total / n, {name: value / n for name, value in parts.items()}


def linear_population_risk_and_gradient(W, U, b, v, Sigma, xi):
    """R = (p − ξ)ᵀΣ(p − ξ) + c² with p = UᵀA⁻ᵀv, c = vᵀA⁻¹b, and its gradient parts
    (core/vector_population.py's formulas, in mpmath with ``lu_solve``)."""
    k = len(v)
    Wm, Um, bm, vm = _matrix(W), _matrix(U), _column(b), _column(v)
    A = mpmath.eye(k) - Wm
    a = mpmath.lu_solve(A.T, vm)
    p = Um.T * a
    c = (a.T * bm)[0]
    residual = p - _column(xi)
    Sm = _matrix(Sigma)
    grad_p = 2 * (Sm * residual)
    h = Um * grad_p + 2 * c * bm
    solved = mpmath.lu_solve(A, h)
    value = (residual.T * Sm * residual)[0] + c * c
    return value, {"W": a * solved.T, "U": a * grad_p.T, "b": 2 * c * a, "v": solved}


def jacobian_vector_product(W, U, b, x, activation: Activation, dW, dU, db):
    """dz for a parameter direction (dW, dU, db) (VEC-FP-2, forward mode):
    (I − SW)·dz = S·(dW z + dU x + db), S = diag σ'(Wz + Ux + b)."""
    Wm, xm = _matrix(W), _column(x)
    k = Wm.rows
    z = fixed_point(W, U, b, x, activation)
    u = _pre_activation(Wm, z, _matrix(U) * xm + _column(b))
    slope = [activation.mp_df(u[i]) for i in range(k)]
    drive = _matrix(dW) * z + _matrix(dU) * xm + _column(db)
    system = mpmath.matrix([[(1 if i == j else 0) - slope[i] * Wm[i, j] for j in range(k)]
                            for i in range(k)])
    return mpmath.lu_solve(system, mpmath.matrix([slope[i] * drive[i] for i in range(k)]))
