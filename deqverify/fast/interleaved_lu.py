"""Batched solves of (I − SW)x = r and (I − SW)ᵀx = r, S = diag(s) per sample, compiled.

The systems are built on the fly from (s, W) and eliminated **without pivoting**, interleaved
over blocks of :data:`BLOCK` samples: entry (i, j) of every system in a block lies in one
contiguous lane, so each elimination step is one vectorisable loop over the block.

Pivot-free elimination is safe exactly where the theorems live: if ‖SW‖₂ ≤ q < 1 (q = ‖W‖₂L
bounds every |sᵢ|‖W‖₂), then I − SW and its transpose have a positive definite symmetric
part (xᵀ(I − SW)x ≥ (1 − q)‖x‖²), so every leading principal minor is non-zero and Gaussian
elimination needs no row exchange. Callers use it only there (:mod:`deqverify.core.compiled`);
elsewhere the pivoting LAPACK path is the only one.
"""

from __future__ import annotations

import numba
import numpy as np

# error_model="numpy": a zero divisor gives inf/NaN for its sample, as numpy does, instead of
# raising for the whole batch (and the division needs no check, so the lane loops vectorise)
BLOCK = 32
"""Samples eliminated together: 32 lanes of k×k float64 (k = 16: 64 KiB) stay in L2."""


@numba.njit(cache=True, error_model="numpy")
def _solve_block(slope, W, rhs, out, start, stop, transpose):
    k = W.shape[0]
    lanes = stop - start
    A = np.empty((k, k, lanes))
    R = np.empty((k, lanes))
    factor = np.empty(lanes)
    for i in range(k):
        for j in range(k):
            weight = W[j, i] if transpose else W[i, j]
            row = j if transpose else i
            identity = 1.0 if i == j else 0.0
            for b in range(lanes):
                A[i, j, b] = identity - slope[start + b, row] * weight
        for b in range(lanes):
            R[i, b] = rhs[start + b, i]
    for p in range(k):
        for i in range(p + 1, k):
            for b in range(lanes):
                factor[b] = A[i, p, b] / A[p, p, b]
            for j in range(p + 1, k):
                for b in range(lanes):
                    A[i, j, b] -= factor[b] * A[p, j, b]
            for b in range(lanes):
                R[i, b] -= factor[b] * R[p, b]
    for i in range(k - 1, -1, -1):
        for j in range(i + 1, k):
            for b in range(lanes):
                R[i, b] -= A[i, j, b] * R[j, b]
        for b in range(lanes):
            R[i, b] /= A[i, i, b]
            out[start + b, i] = R[i, b]


@numba.njit(cache=True, error_model="numpy")
def solve_identity_minus_scaled(slope, W, rhs, transpose):
    """x[n] with (I − diag(slope[n])·W)x[n] = rhs[n] (``transpose``: the transposed system),
    for every row n; float64 (n, k), (k, k), (n, k). No pivoting: see the module docstring."""
    n = rhs.shape[0]
    out = np.empty_like(rhs)
    for start in range(0, n, BLOCK):
        _solve_block(slope, W, rhs, out, start, min(start + BLOCK, n), transpose)
    return out
