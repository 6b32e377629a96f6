"""The scalar DEQ's risk sums, compiled: Σᵢ(yᵢ − tᵢ)² and Σᵢ∇_θ(yᵢ − tᵢ)² over a block of rows,
with yᵢ = σ(θ₁ᵀxᵢ + θ₂yᵢ) found by the plain Newton phase of :func:`deqverify.core.solve.newton`.

The numpy path reads X twice per block (X_bθ₁, then X_bᵀw) and runs Newton as ~20 array
operations per iteration. Here both products and the Newton loop run per sub-block of rows small
enough to stay in L2 (:data:`SUB_BLOCK_ELEMENTS`), so the second read of X comes from cache.

Same equations as the numpy reference, term for term:

* start y₀ = σ(a); per iteration u = a + θ₂y, g = y − σ(u), step = g/(1 − θ₂σ'(u)), an
  unconverged sample moves to y − step and is converged when |step| ≤ atol + rtol·|y_old| or
  K·(g/m)² ≤ that (K = ``error_factor``, :func:`deqverify.core.solve.newton_error_factor`);
  a converged sample is frozen;
* at the returned y: σ'(u) and the residual |y − σ(a + θ₂y)| recomputed (``finish``);
* c = σ'(u)/(1 − θ₂σ'(u)) (FP-2), w = (y − t)·c, ∇ = 2(Σwx, Σwy), loss = Σ(y − t)².

A sub-block is **declined** (left to the numpy path, which owns every flag and status) when any
of its samples is not converged after ``iterations`` plain steps, or anything in it is not
finite. So the kernel only ever answers "every sample converged, all finite".
"""

from __future__ import annotations

import math

import numba
import numpy as np

ACTIVATIONS = ("sigmoid",)
"""The built-in activations the kernel evaluates, by the numpy reference's formulas. Only the
sigmoid (one exp per evaluation): numba calls the scalar libm, which on this machine takes
2.9 ns for exp, 7.8 for expm1, 13.9 for tanh and 12.6 for log1p(exp) per value, against numpy's
vectorised 0.6–0.8 ns for exp, tanh and expm1 and 3.6 for log1p; so tanh and softplus ran
slower compiled (3.8–4.0 and 5.8–6.1 × one X@θ₁ pass, against 3.5 and 4.0 on numpy)."""
SUB_BLOCK_ELEMENTS = 1 << 16
"""Entries of X per sub-block: 512 KiB, within half of this machine's 1 MiB L2, so that X_bᵀw
reads what X_bθ₁ just brought in (measured at d = 100 on a 2-core EPYC: 1.5 × one X@θ₁ pass for
both products blocked at 655 rows, against 1.9 at 8192)."""


@numba.njit(cache=True, inline="always", error_model="numpy")
def _sigmoid(z):
    """(σ(z), σ'(z)) as :func:`deqverify.core.activations._sigmoid_value_and_slope`: from
    e = e^{−|z|}, σ(|z|) = 1/(1 + e), σ(−|z|) = e/(1 + e), σ' = e/(1 + e)² (no overflow)."""
    e = math.exp(-abs(z))
    r = 1.0 / (1.0 + e)
    return (r if z >= 0 else e * r), e * r * r


@numba.njit(cache=True, error_model="numpy")
def _sub_block(X, targets, theta1, theta2, atol, rtol, error_factor, m,
               iterations, sums, y):
    """Solve one sub-block into ``y`` and add its sums into ``sums`` = (loss, Σwx …, Σwy,
    residual, iterations); False (and ``sums`` untouched) where the sub-block is declined."""
    rows = X.shape[0]
    a = X @ theta1
    done = np.zeros(rows, dtype=np.int64)
    for i in range(rows):
        y[i] = _sigmoid(a[i])[0]
    # K(g/m)² ≤ tolerance is tested only where K ≠ 0: an infinite factor makes it false
    # (inf·g² > tolerance, and inf·0 = NaN compares false) without a branch
    curvature = error_factor / (m * m) if error_factor != 0.0 else np.inf
    used = 0
    for used in range(1, iterations + 1):
        pending = 0
        for i in range(rows):
            value, slope = _sigmoid(a[i] + theta2 * y[i])
            g = y[i] - value
            step = g / (1.0 - theta2 * slope)
            tolerance = atol + rtol * abs(y[i])
            converged = (abs(step) <= tolerance) | (curvature * (g * g) <= tolerance)
            y[i] = y[i] if done[i] else y[i] - step
            done[i] = done[i] | converged
            pending += 1 - done[i]
        if pending == 0:
            break
    weights = np.empty(rows)
    loss, gradient_theta2, residual = 0.0, 0.0, 0.0
    for i in range(rows):
        value, slope = _sigmoid(a[i] + theta2 * y[i])
        error = y[i] - targets[i]
        weights[i] = error * (slope / (1.0 - theta2 * slope))
        loss += error * error
        gradient_theta2 += weights[i] * y[i]
        defect = abs(y[i] - value)
        residual = max(residual, defect)
        if not (done[i] == 1 and math.isfinite(a[i]) and math.isfinite(defect)
                and math.isfinite(weights[i]) and math.isfinite(loss)):
            return False
    gradient_theta1 = weights @ X
    if not (math.isfinite(gradient_theta2) and np.all(np.isfinite(gradient_theta1))):
        return False
    d = X.shape[1]
    sums[0] += loss
    sums[1:d + 1] += gradient_theta1
    sums[d + 1] += gradient_theta2
    sums[d + 2] = max(sums[d + 2], residual)
    sums[d + 3] = max(sums[d + 3], used)
    return True


@numba.njit(cache=True, error_model="numpy")
def scalar_risk_sums(X, targets, theta1, theta2, atol, rtol, error_factor, m, iterations):
    """Sums over the rows of X (C-contiguous float64 (n, d)) that the kernel answers, and the
    declined rows: returns (sums, declined, y) with sums = (loss, ∇θ₁ (d), ∇θ₂, max residual,
    max iterations), ``declined`` a boolean per row, True for the rows of every declined
    sub-block (their sums are not included), and y the fixed points of the answered rows (NaN
    on declined ones). The gradient is doubled once, after the sub-blocks are added up, as the
    numpy path doubles its block's sums: doubling each sub-block could overflow a partial sum
    that the next one would bring back."""
    n, d = X.shape
    rows = max(1, SUB_BLOCK_ELEMENTS // max(d, 1))
    sums = np.zeros(d + 4)
    declined = np.zeros(n, dtype=numba.boolean)
    y = np.empty(n)
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        answered = _sub_block(X[start:stop], targets[start:stop], theta1, theta2, atol, rtol,
                              error_factor, m, iterations, sums, y[start:stop])
        declined[start:stop] = not answered
        if not answered:
            y[start:stop] = np.nan
    sums[1:d + 2] *= 2.0
    return sums, declined, y
