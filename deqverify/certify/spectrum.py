"""Proved enclosures of the extreme eigenvalues of a real symmetric matrix (PL's λ_min(Σ),
MON-LIP's m = λ_min of the symmetric part of I − W and ‖U‖₂² = λ_max(UᵀU)).

With V the float64 eigenvectors of A (nearly orthogonal, any accuracy), B = VᵀAV is computed
in ball arithmetic from the exact entries. By Ostrowski's theorem λ_k(B) = θ_k·λ_k(A) with
θ_k ∈ [σ_min(V)², σ_max(V)²], and Gershgorin's discs bound B's eigenvalues (B is nearly
diagonal, so the discs are tight even for a multiple eigenvalue, where isolating methods
fail). The other side of each extreme is a Rayleigh quotient vᵀAv/vᵀv of an exact vector,
which λ_min never exceeds and λ_max never falls below.
"""

from __future__ import annotations

import numpy as np


def _balls(matrix):
    from flint import arb, arb_mat
    return arb_mat([[entry if isinstance(entry, arb) else arb(float(entry)) for entry in row] for row in matrix])


def _gershgorin(B):
    """(lower bound of λ_min(B), upper bound of λ_max(B)) for a symmetric ball matrix B."""
    from flint import arb
    k = B.nrows()
    low, high = [], []
    for i in range(k):
        spread = sum((abs(B[i, j]) for j in range(k) if j != i), arb(0))
        low.append(arb((B[i, i] - spread).lower()))
        high.append(arb((B[i, i] + spread).upper()))
    return min(low, key=lambda b: b.mid()), max(high, key=lambda b: b.mid())


def _scaled(bound, squares_low, squares_high, lower: bool):
    """λ(A) = λ(B)/θ, θ ∈ [squares_low, squares_high]: the end of that interval bounding it."""
    if lower:
        return bound / (squares_high if bound >= 0 else squares_low)
    return bound / (squares_low if bound >= 0 else squares_high)


def extreme_eigenvalues(matrix):
    """(λ_min, λ_max) of the symmetric ``matrix`` (floats or Arb balls) as Arb balls that
    hold the exact values; None where V is too far from orthogonal to bound (never for a
    symmetric float matrix in practice)."""
    from flint import arb
    A = _balls(matrix)
    k = A.nrows()
    mid = np.array([[float(A[i, j].mid()) for j in range(k)] for i in range(k)])
    _, vectors = np.linalg.eigh(0.5 * (mid + mid.T))
    V = _balls(vectors)
    gram_low, gram_high = _gershgorin(V.transpose() * V)
    if not gram_low > 0:
        return None
    low, high = _gershgorin(V.transpose() * A * V)
    smallest = _scaled(low, gram_low, gram_high, lower=True)
    largest = _scaled(high, gram_low, gram_high, lower=False)

    def rayleigh(column):
        v = _balls(vectors[:, [column]])
        return (v.transpose() * A * v)[0, 0] / (v.transpose() * v)[0, 0]

    first, last = rayleigh(0), rayleigh(k - 1)
    return arb(smallest.lower()).union(arb(first.upper())), arb(last.lower()).union(arb(largest.upper()))
