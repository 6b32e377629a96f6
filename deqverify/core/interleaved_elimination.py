"""Batched solves of (I − SW)x = r and (I − SW)ᵀx = r, S = diag(s) per sample, in numpy: the
twin of the compiled kernel :mod:`deqverify.fast.interleaved_lu`, for the numpy path.

The systems of a block of samples are stored interleaved, A[i, j, b] = entry (i, j) of sample
b's matrix, and eliminated **without pivoting** together: each elimination step is a handful of
array operations over (k − p)² · block entries, instead of one LAPACK call per sample (numpy's
stacked solve) whose per-matrix overhead dominates at small k. Measured on this machine at
n = 1e5 against the stacked LAPACK solve of the same systems: 2.9× faster at k = 2, 3.0× at
k = 4, 2.8× at k = 8; at k = 16 inside the vector solver (whose LAPACK path works on 512-sample
stacks in cache) 10 % slower, and from k = 32 on slower still (0.77× at 32, 0.28× at 64):
:data:`MAX_WIDTH`.

Pivot-free elimination is safe where the callers use it: if ‖SW‖₂ ≤ q < 1 (q = ‖W‖₂L bounds
every |sᵢ|‖W‖₂), then I − SW and its transpose have a positive definite symmetric part
(xᵀ(I − SW)x ≥ (1 − q)‖x‖²), so every leading principal minor is non-zero and Gaussian
elimination needs no row exchange. A non-finite slope or right-hand side gives NaN or inf for its own sample only.
"""

from __future__ import annotations

import numpy as np

MAX_WIDTH = 8
"""Largest k for which this elimination runs (above, LAPACK: see the module docstring). The
vector benchmark at n = 1e5, q = 0.9, ÷ one X@Uᵀ pass, before → after: k = 4 relu 13.1 → 9.4,
tanh 19.7 → 11.8; k = 8 relu 17.8 → 17.7, tanh 33.7 → 23.9."""
BLOCK_ENTRIES = 1 << 19
"""Entries of the interleaved (k, k, block) array: 4 MiB, block = 8192 samples at k = 8 (the
size that was fastest at k = 16: 7.0 × one X@Uᵀ pass for a solve of 1e5 systems at 2048
samples, 7.6 at 1024, 8.3 at 512)."""


def solve_interleaved(slope, W, rhs, transpose=False) -> np.ndarray:
    """x[n] with (I − diag(slope[n])·W)x[n] = rhs[n] (``transpose``: the transposed system)
    for every row n; float64 (n, k), (k, k), (n, k). No pivoting: see the module docstring."""
    n, k = rhs.shape
    block = max(1, BLOCK_ENTRIES // (k * k))
    out = np.empty((n, k))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # per-sample NaN/inf
        for start in range(0, n, block):
            stop = min(start + block, n)
            out[start:stop] = _solve_block(slope[start:stop].T, W, rhs[start:stop].T, transpose).T
    return out


def _solve_block(slope, W, rhs, transpose):
    """The block's systems, interleaved: slope and rhs are (k, block), the answer too."""
    k = W.shape[0]
    if transpose:  # (I − SW)ᵀ[i, j] = δᵢⱼ − W[j, i]·s[j]
        A = W.T[:, :, None] * slope[None, :, :]
    else:  # (I − SW)[i, j] = δᵢⱼ − s[i]·W[i, j]
        A = W[:, :, None] * slope[:, None, :]
    np.negative(A, out=A)
    diagonal = np.arange(k)
    A[diagonal, diagonal, :] += 1.0
    R = np.array(rhs, dtype=float)
    for p in range(k - 1):
        factor = A[p + 1:, p, :] / A[p, p, :]
        A[p + 1:, p + 1:, :] -= factor[:, None, :] * A[p, None, p + 1:, :]
        R[p + 1:] -= factor * R[p]
    for i in range(k - 1, -1, -1):
        if i < k - 1:
            R[i] -= np.einsum("jb,jb->b", A[i, i + 1:, :], R[i + 1:])
        R[i] /= A[i, i, :]
    return R
