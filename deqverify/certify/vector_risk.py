"""Certified enclosures of the vector DEQ's empirical risk and its IFT gradient (VEC-FP-2).

R = (1/n)·Σᵢ (vᵀzᵢ − tᵢ)² with zᵢ = σ(Wzᵢ + Uxᵢ + bᵢ). With eᵢ = vᵀzᵢ − tᵢ, S = diag(σ'(uᵢ))
at uᵢ = Wzᵢ + Uxᵢ + b and the adjoint (I − SW)ᵀwᵢ = 2eᵢv,

    ∇_W R = (1/n)Σ (Swᵢ)zᵢᵀ,  ∇_U R = (1/n)Σ (Swᵢ)xᵢᵀ,  ∇_b R = (1/n)Σ Swᵢ,  ∇_v R = (1/n)Σ 2eᵢzᵢ.

The linear vector DEQ on N(0, Σ) has a closed form (:func:`linear_vector_population_risk`).

Every zᵢ comes from a proved enclosure (:func:`deqverify.certify.vector_fixed_point`), each
σ'(uᵢ) is enclosed on the pre-activation box, and the adjoint is Arb's solve of the ball
system: Gaussian elimination in ball arithmetic encloses the solution of every point system
in the balls, so it holds the exact wᵢ. Frozen parts of the model have gradient 0, as in
:meth:`deqverify.VectorDEQ.flat_gradient`. ReLU has no derivative where a pre-activation is
0: a box that touches 0 there is an honest "uncertified".
"""

from __future__ import annotations

import numpy as np

from deqverify.certify.balls import down, hull, slope_bounds, up
from deqverify.certify.risk import RiskEnclosure, _uncertified, proved
from deqverify.certify.scalar import _precision
from deqverify.certify.vector import _column, _matrix, vector_fixed_point
from deqverify.core.errors import InvalidInputError
from deqverify.core.validation import _as_float_array
from deqverify.core.vector_params import PARTS, VectorParams


def _gradient_parts(W, U, b, v, x, root, activation, target):
    """(eᵢ², {W, U, b, v: the sample's ∇ℓ/2·... parts}) as balls for one certified sample, or
    a reason it cannot be enclosed."""
    from flint import arb, arb_mat
    k = W.shape[0]
    z = arb_mat([[hull(arb(e.low), arb(e.high))] for e in root])
    pre = _matrix(W) * z + _matrix(U) * _column(x) + _column(b)
    slopes = []
    for i in range(k):
        low, high = down(pre[i, 0]), up(pre[i, 0])
        if activation == "relu" and not (low > 0 or high < 0):
            return None, "a ReLU pre-activation's enclosure holds 0: the gradient is not defined there"
        slopes.append(hull(*slope_bounds(activation, low, high)))
    vb = _column(v)
    error = sum((vb[i, 0] * z[i, 0] for i in range(k)), arb(0)) - arb(float(target))
    transposed = arb_mat([[(1 if i == j else 0) - slopes[j] * arb(float(W[j, i])) for j in range(k)]
                          for i in range(k)])
    try:
        w = transposed.solve(2 * error * vb)
    except ZeroDivisionError:
        return None, "I − SW is not provably invertible on the enclosure"
    sw = arb_mat([[slopes[i] * w[i, 0]] for i in range(k)])
    return error * error, {"W": sw * z.transpose(), "U": sw * _column(x).transpose(), "b": sw, "v": 2 * error * z}


def vector_empirical_risk(model, params, X, targets, answers=None) -> RiskEnclosure:
    """Proved enclosures of R and ∇R (flat, in the layout of ``params.flat``) for the vector
    DEQ ``model`` (a :class:`deqverify.VectorDEQ`, for its activation and frozen parts) at the
    exact float64 ``params``. Uncertified, with the reason, when a fixed point cannot be proved
    or the adjoint system is not provably invertible."""
    _require_vector(model, params)
    size = params.flat.size
    targets = _as_float_array(targets, "targets").reshape(-1)
    roots = vector_fixed_point(params, X, model.activation.name, answers)
    X = _as_float_array(X, "X")
    if targets.size != len(roots):
        raise InvalidInputError(f"targets has {targets.size} values for {len(roots)} rows of X; "
                                "pass one target per row")
    if not np.all(np.isfinite(targets)):
        return _uncertified(size, "a target is not finite")
    for index, root in enumerate(roots):
        if not all(e.certified for e in root):
            return _uncertified(size, f"the fixed point of sample {index} is not certified: {root[0].reason}")
    from flint import arb
    W, U, b, v = (np.asarray(getattr(params, name), dtype=float) for name in PARTS)
    with _precision():
        value, total = arb(0), None
        for x, target, root in zip(X, targets, roots):
            loss, parts = _gradient_parts(W, U, b, v, x, root, model.activation.name, target)
            if loss is None:
                return _uncertified(size, parts)
            value += loss
            total = parts if total is None else {name: total[name] + parts[name] for name in PARTS}
        n = arb(len(roots))
        return _enclosure(model, value / n, {name: total[name] / n for name in PARTS})


def _require_vector(model, params) -> None:
    """A typed error unless ``params`` are VectorParams of ``model``'s width (a VectorDEQ)."""
    if not isinstance(params, VectorParams):
        raise InvalidInputError(f"params must be a deqverify.VectorParams(W, U, b, v), got {type(params).__name__}")
    if not hasattr(model, "width") or not hasattr(model, "frozen"):
        raise InvalidInputError(f"model must be a deqverify.VectorDEQ, got {type(model).__name__}")
    if params.W.shape[0] != model.width:
        raise InvalidInputError(f"params have width {params.W.shape[0]}, the model {model.width}: pass the model "
                                "the parameters belong to")


def _enclosure(model, value, parts) -> RiskEnclosure:
    """The RiskEnclosure of R and its gradient parts (arb matrices), frozen parts set to 0."""
    from flint import arb
    balls = []
    for name in PARTS:
        entries = [parts[name][i, j] for i in range(parts[name].nrows()) for j in range(parts[name].ncols())]
        balls += [arb(0)] * len(entries) if name in model.frozen else entries
    return proved(value, balls)


def linear_vector_population_risk(model, params, Sigma, xi) -> RiskEnclosure:
    """Proved enclosures of the linear vector DEQ's population risk on X ~ N(0, Σ) with teacher
    ξᵀx, in closed form: with A = I − W, a = A⁻ᵀv, p = Uᵀa, c = aᵀb and r = p − ξ,

        R = rᵀΣr + c²,  ∇_U = 2a(Σr)ᵀ,  ∇_b = 2c·a,  ∇_v = q,  ∇_W = a·qᵀ,  q = A⁻¹(2UΣr + 2c·b)

    (both solves in ball arithmetic). Uncertified where A is not provably invertible or Σ, ξ
    are not finite."""
    from flint import arb_mat
    _require_vector(model, params)
    if not model.is_linear:
        raise InvalidInputError(f"the closed form is the linear vector DEQ's; the model's σ is "
                                f"{model.activation.name!r} (use vector_empirical_risk)")
    W, U, b, v = (np.asarray(getattr(params, name), dtype=float) for name in PARTS)
    k, d = W.shape[0], U.shape[1]
    Sigma, xi = _as_float_array(Sigma, "Sigma"), _as_float_array(xi, "xi").reshape(-1)
    if Sigma.shape != (d, d) or xi.shape != (d,):
        raise InvalidInputError(f"Sigma must be ({d}, {d}) and xi ({d},) for inputs of dimension {d}; "
                                f"got {Sigma.shape} and {xi.shape}")
    if not (np.all(np.isfinite(Sigma)) and np.all(np.isfinite(xi))):
        return _uncertified(params.flat.size, "Σ or ξ is not finite")
    with _precision():
        A = arb_mat([[(1 if i == j else 0) - _matrix(W)[i, j] for j in range(k)] for i in range(k)])
        Ub, bb, S = _matrix(U), _column(b), _matrix(Sigma)
        try:
            a = A.transpose().solve(_column(v))
            c = (a.transpose() * bb)[0, 0]
            residual = Ub.transpose() * a - _column(xi)
            weighted = S * residual
            q = A.solve(2 * (Ub * weighted) + 2 * c * bb)
        except ZeroDivisionError:
            return _uncertified(params.flat.size, "I − W is not provably invertible")
        value = (residual.transpose() * weighted)[0, 0] + c * c
        parts = {"W": a * q.transpose(), "U": 2 * a * weighted.transpose(), "b": 2 * c * a, "v": q}
        return _enclosure(model, value, parts)
