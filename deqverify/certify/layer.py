"""Certified fixed points of a DEQ layer whose map is a chain of supported operations:

    h₁ = σ₁(W₁z + Ux + b₁),  hᵢ = σᵢ(Wᵢhᵢ₋₁ + bᵢ) (i = 2 … L),  f(z, x) = h_L,

every σᵢ a built-in activation (the MLP-tanh layers; L = 1 is the vector DEQ). A layer
declares it with the optional protocol method ``structure()`` (docs/conformance.md).

The Krawczyk test as in :mod:`deqverify.certify.vector`, with F(z) = z − f(z) and the
interval Jacobian of the chain on the box Z: J(Z) = D_L·W_L ⋯ D₁·W₁, each Dᵢ the diagonal of
σᵢ' enclosed on the pre-activation box of layer i (propagated through the chain in ball
arithmetic). With R ≈ (I − J(z̃))⁻¹, K(Z) = z̃ − R·F(z̃) + (I − R·(I − J(Z)))(Z − z̃) ⊂ int Z
proves exactly one root in Z.
"""

from __future__ import annotations

import math

import numpy as np

from deqverify.certify.balls import down, hull, slope_bounds, up, value_bounds, value_point
from deqverify.certify.scalar import PRECISION, Enclosure
from deqverify.certify.vector import _column, _matrix, first_contracting_box
from deqverify.core.errors import InvalidInputError


def _chain(structure):
    """[(W, b, activation)] and U from a declared structure, validated."""
    try:
        U = np.asarray(structure["input"], dtype=float)
        layers = [(np.asarray(W, dtype=float), np.asarray(b, dtype=float), str(name))
                  for W, b, name in structure["layers"]]
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidInputError(f"a structure is {{'input': U, 'layers': [(W, b, activation), …]}}: {error}") from None
    if not layers or U.ndim != 2 or layers[0][0].shape[0] != U.shape[0]:
        raise InvalidInputError("the structure's first layer must have as many rows as its input matrix U")
    for i, (W, b, _) in enumerate(layers):
        inner = layers[i - 1][0].shape[0] if i else W.shape[1]
        if W.ndim != 2 or b.shape != (W.shape[0],) or W.shape[1] != inner:
            raise InvalidInputError(f"layer {i + 1} of the structure: W {W.shape} and b {b.shape} do not chain "
                                    "(b needs one entry per row of W, W one column per output of the layer before)")
    if layers[-1][0].shape[0] != layers[0][0].shape[1]:
        raise InvalidInputError("the structure's last layer must map back to the state (as many rows as W₁ has columns)")
    return U, layers


def evaluate(structure, z, x) -> np.ndarray:
    """f(z, x) of the declared chain in float64 (rows of z and x are samples): what the
    checker compares with the layer's own f before it trusts the declaration."""
    from deqverify.core.activations import get_activation
    U, layers = _chain(structure)
    hidden = np.asarray(z, dtype=float)
    for i, (W, b, name) in enumerate(layers):
        pre = hidden @ W.T + b + (np.asarray(x, dtype=float) @ U.T if i == 0 else 0.0)
        hidden = get_activation(name).f(pre)
    return hidden


def _ball_chain(U, layers, x):
    """The chain's matrices as balls, once per sample: [(W, b (+ Ux for the first), name)]."""
    drive = _matrix(U) * _column(x)
    return [(_matrix(W), _column(b) + (drive if i == 0 else 0), name) for i, (W, b, name) in enumerate(layers)]


def _forward_balls(chain, z):
    """(f(z, x) as a ball column, [(pre-activation ball column, activation)]) for a ball
    column z: values by point evaluation where z is a point, else by monotone bounds."""
    from flint import arb_mat
    hidden, pres = z, []
    for W, offset, name in chain:
        pre = W * hidden + offset
        pres.append((pre, name))
        hidden = arb_mat([[_value(name, pre[r, 0])] for r in range(pre.nrows())])
    return hidden, pres


def _value(name, ball):
    if ball.rad() == 0:
        return value_point(name, ball)
    return hull(*value_bounds(name, down(ball), up(ball)))


def _jacobian(chain, pres):
    """J(Z) = D_L W_L ⋯ D₁ W₁ as a ball matrix, Dᵢ = σᵢ' on the pre-activation boxes."""
    from flint import arb_mat
    J = None
    for (W, _, _), (pre, name) in zip(chain, pres):
        slopes = [hull(*slope_bounds(name, down(pre[r, 0]), up(pre[r, 0]))) for r in range(pre.nrows())]
        DW = arb_mat([[slopes[r] * W[r, c] for c in range(W.ncols())] for r in range(W.nrows())])
        J = DW if J is None else DW * J
    return J


def certify_layer_sample(structure, x, z) -> list[Enclosure]:
    """Per-component enclosures of the unique fixed point of the chain in a box around ``z``
    (one sample, flat), or the reason none could be proved."""
    from flint import arb, arb_mat, ctx
    U, layers = _chain(structure)
    k = len(z)
    if not (np.all(np.isfinite(z)) and np.all(np.isfinite(x))):
        return [Enclosure(math.nan, math.nan, False, "the sample or its answer is not finite")] * k
    with ctx.workprec(PRECISION):
        chain = _ball_chain(U, layers, x)
        centre = _column(z)
        image, pres = _forward_balls(chain, centre)
        F = centre - image
        jacobian = np.array([[float(v.mid()) for v in row] for row in _jacobian(chain, pres).tolist()])
        try:
            R = np.linalg.inv(np.eye(k) - jacobian)
        except np.linalg.LinAlgError:
            return [Enclosure(math.nan, math.nan, False, "I − J is singular at the answer")] * k
        Rb = _matrix(R)
        identity = arb_mat([[1 if i == j else 0 for j in range(k)] for i in range(k)])

        def operator(radius):
            box = arb_mat([[arb(float(v), radius)] for v in z])
            _, box_pres = _forward_balls(chain, box)
            return centre - Rb * F + (identity - Rb * (identity - _jacobian(chain, box_pres))) * (box - centre), box

        return first_contracting_box(operator, R, max(abs(float(F[i, 0].mid())) for i in range(k)), z)


def layer_fixed_point(structure, X, answers) -> list[list[Enclosure]]:
    """Certified enclosures of every sample's fixed point of a declared chain (rows of X are
    flattened inputs, rows of ``answers`` flattened states)."""
    X = np.asarray(X, dtype=float).reshape(len(answers), -1)
    answers = np.asarray(answers, dtype=float).reshape(len(answers), -1)
    return [certify_layer_sample(structure, x, z) for x, z in zip(X, answers)]
