"""The exact defects of the identities decided by proof, as Arb balls, from the exact float64 θ
and a proved enclosure G of ∇R (:mod:`deqverify.reference.proofs`). Each identity holds iff
every ball it returns holds 0 (at exact G: the balls only carry G's enclosure radius).

Scalar DEQ, θ = (θ₁, θ₂), e = (0, …, 0, 1):
  LIN-ORTH   ⟨G, θ − e⟩
  GD-RADIUS  C(θ − ηG) − C(θ) − η²‖G‖²,  C(θ) = ‖θ − e‖²  (one exact step)
Vector DEQ, θ = (W, U, b, v), A = I − W, Q = AAᵀ + UUᵀ + bbᵀ:
  VEC-ORTH    G_W·Aᵀ − G_U·Uᵀ − g_b·bᵀ  (k×k)
  VEC-BAL     (G_W Wᵀ − Wᵀ G_W)ᵢᵢ + (G_U Uᵀ)ᵢᵢ + (g_b)ᵢbᵢ − (g_v)ᵢvᵢ  (per neuron)
  VEC-RADIUS  Q(θ − ηG) − Q(θ) − η²(G_W G_Wᵀ + G_U G_Uᵀ + g_b g_bᵀ)  (one exact step; A moves by +ηG_W)
  VEC-SCALE   ‖v′‖² + ‖A′‖²_F − ‖v‖² − ‖A‖²_F − η²(‖g_v‖² + ‖G_W‖²_F)  (one exact step)
"""

from __future__ import annotations

SCALAR_IDENTITIES = ("LIN-ORTH", "GD-RADIUS")
VECTOR_IDENTITIES = ("VEC-ORTH", "VEC-BAL", "VEC-RADIUS", "VEC-SCALE")


def _arb(value):
    from flint import arb
    return arb(float(value))


def scalar_defect(theorem_id, theta, gradient, step) -> list:
    """LIN-ORTH or GD-RADIUS at θ with G = ``gradient`` (a list of balls)."""
    from flint import arb
    offset = [_arb(v) for v in theta[:-1]] + [_arb(theta[-1]) - 1]
    if theorem_id == "LIN-ORTH":
        return [sum((g * v for g, v in zip(gradient, offset)), arb(0))]
    eta = _arb(step)
    moved = [v - eta * g for v, g in zip(offset, gradient)]
    return [sum((v * v for v in moved), arb(0)) - sum((v * v for v in offset), arb(0))
            - eta * eta * sum((g * g for g in gradient), arb(0))]


def _parts(flat, width, dim):
    """(W, U, b, v) of a flat list of balls as arb matrices (b and v as columns)."""
    from flint import arb_mat
    cuts = [width * width, width * dim, width, width]
    parts, start = [], 0
    for size, columns in zip(cuts, (width, dim, 1, 1)):
        entries = flat[start:start + size]
        parts.append(arb_mat([entries[r * columns:(r + 1) * columns] for r in range(size // columns)]))
        start += size
    return parts


def _quadratic(A, U, b):
    return A * A.transpose() + U * U.transpose() + b * b.transpose()


def _entries(matrix) -> list:
    return [matrix[i, j] for i in range(matrix.nrows()) for j in range(matrix.ncols())]


def vector_defect(theorem_id, theta, gradient, step, width, dim) -> list:
    """VEC-ORTH, VEC-BAL, VEC-RADIUS or VEC-SCALE at θ with G = ``gradient`` (balls)."""
    from flint import arb, arb_mat
    W, U, b, v = _parts([_arb(t) for t in theta], width, dim)
    GW, GU, gb, gv = _parts(list(gradient), width, dim)
    identity = arb_mat([[1 if i == j else 0 for j in range(width)] for i in range(width)])
    A = identity - W
    if theorem_id == "VEC-ORTH":
        return _entries(GW * A.transpose() - GU * U.transpose() - gb * b.transpose())
    if theorem_id == "VEC-BAL":
        left, right, inputs = GW * W.transpose(), W.transpose() * GW, GU * U.transpose()
        return [left[i, i] - right[i, i] + inputs[i, i] + gb[i, 0] * b[i, 0] - gv[i, 0] * v[i, 0]
                for i in range(width)]
    eta = _arb(step)
    if theorem_id == "VEC-RADIUS":
        grown = _quadratic(A + eta * GW, U - eta * GU, b - eta * gb) - _quadratic(A, U, b)
        return _entries(grown - eta * eta * _quadratic(GW, GU, gb))

    def size(vector, matrix):
        return sum(_entries(vector.transpose() * vector) + [m * m for m in _entries(matrix)], arb(0))

    return [size(v - eta * gv, A + eta * GW) - size(v, A) - eta * eta * size(gv, GW)]
