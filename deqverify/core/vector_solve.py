"""Batched solvers for the vector fixed point z = σ(Wz + p), one k-dimensional system per
sample (p = Ux + b), with a certified error bound (VEC-FP-1).

With q = ‖W‖₂·L < 1 the map g(z) = σ(Wz + p) is a q-contraction in the 2-norm, so the
residual F(z) = z − g(z) bounds the error: ‖z − z*‖ ≤ ‖F(z)‖/(1 − q). Every solver stops a
sample when that bound (with the float64 noise of evaluating F added) is below
atol + rtol·‖z‖, freezes it, and never touches it again: no sample changes another.

* Newton: J = I − diag(σ'(u))·W, one k×k solve per sample and iteration
  (:func:`solve_identity_minus_scaled`: pivot-free and batched under a contraction, LAPACK
  with pivoting otherwise).
  Globalised: a Newton step is kept only where it shrinks ‖F‖ at least as much as the
  contraction step z ← g(z) is guaranteed to (‖F(g(z))‖ ≤ q‖F(z)‖); elsewhere the
  contraction step is taken. So Newton converges wherever q < 1, quadratically near z*.
* Anderson(m): type-II mixing of the last m contraction steps (k×k-free: for large k), with
  the same safeguard.
* Picard: z ← g(z); the reference.
"""

from __future__ import annotations

import numpy as np

from deqverify.core import compiled
from deqverify.core.activations import Activation
from deqverify.core.interleaved_elimination import MAX_WIDTH as INTERLEAVED_MAX_WIDTH
from deqverify.core.interleaved_elimination import solve_interleaved
from deqverify.core.solve import (
    EPS,
    AndersonSettings,
    FixedPointResult,
    NewtonSettings,
    PicardSettings,
    batch_status,
    merge_results,
)

ANDERSON_MEMORY = 5
"""Past steps mixed by Anderson(m)."""
ANDERSON_REGULARISATION = 1e-12
"""Relative Tikhonov term on the m×m Gram matrix of past residuals (keeps it invertible)."""
CHUNK_ELEMENTS = 1 << 17
"""Samples per solver call: at most 2¹⁷ entries (1 MiB) in the stacked (rows, k, k)
Jacobians, so they stay in cache (measured, n = 2 000 → 16 000 at k = 8: cost exponent 1.17
with 1 MiB stacks against 1.39 with 8 MiB stacks)."""


PLAIN_NORM_RANGE = (1e-140, 1e140)
"""Where √Σr² is exact to rounding: above 1e-140 the squares that underflow (each < 2.3e-308)
change a sum ≥ 1e-280 by < k·1e-27 relatively; below 1e140 nothing overflows."""


def row_norms(array: np.ndarray) -> np.ndarray:
    """Per-row 2-norms without underflow or overflow: ‖r‖ = m·‖r/m‖ with m = max|rᵢ| (a plain
    √Σr² is 0 for |r| < 1e-154 — which would certify an error of 0 — and inf above 1e154).
    The plain sum is kept for the rows where it lies in :data:`PLAIN_NORM_RANGE`."""
    with np.errstate(invalid="ignore", over="ignore", under="ignore"):
        norms = np.sqrt(np.einsum("ij,ij->i", array, array))
    low, high = PLAIN_NORM_RANGE
    rescale = ~((norms > low) & (norms < high))
    if rescale.any() and np.any(array[rescale]):  # rows of exact zeros keep their exact 0
        norms[rescale] = _scaled_row_norms(array[rescale])
    return norms


def _scaled_row_norms(array: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        scale = np.max(np.abs(array), axis=1, initial=0.0)
        safe = np.where((scale > 0) & np.isfinite(scale), scale, 1.0)
        norms = safe * np.sqrt(np.sum((array / safe[:, None]) ** 2, axis=1))
    return np.where((scale > 0) & np.isfinite(scale), norms, scale)


UNSTACKED_CHUNK_ELEMENTS = 1 << 19
"""Entries of the (rows, k) arrays per solver call where the solve builds no (rows, k, k) stack
(the pivot-free eliminations: compiled, 32 systems at a time, or interleaved in numpy, a few
thousand at a time), so only the per-call overhead matters. Measured at n = 1e5, k = 16, relu,
q = 0.9 with the compiled solve: 33 × X@Uᵀ with 512-row chunks, 17 with 32 768-row ones."""


def _pivot_free(width: int, q: float):
    """The pivot-free batched solve that may run here, or None (then LAPACK with pivoting):
    only under a contraction (q = ‖W‖₂L < 1); the compiled kernel where the ``[fast]`` extra
    is on, else the numpy elimination up to its :data:`~deqverify.core.interleaved_elimination.MAX_WIDTH`."""
    if not q < 1.0:
        return None
    fast = compiled.kernels()
    if fast is not None:
        return fast.solve_identity_minus_scaled
    return solve_interleaved if width <= INTERLEAVED_MAX_WIDTH else None


def chunk_rows(width: int, q: float = np.inf) -> int:
    """Rows per call: the stacked k×k matrices of the LAPACK path within
    :data:`CHUNK_ELEMENTS`; where a pivot-free solve runs, the (rows, k) arrays within
    :data:`UNSTACKED_CHUNK_ELEMENTS`."""
    if _pivot_free(width, q) is not None:
        return max(1, UNSTACKED_CHUNK_ELEMENTS // width)
    return max(1, CHUNK_ELEMENTS // (width * width))


def rounding_floor(z, offsets, W, lipschitz) -> np.ndarray:
    """Per-sample float64 noise of ‖F(z)‖: u = Wz + p errs by ≤ (k+1)·eps·(|W||z| + |p|)
    per entry (Higham, a (k+1)-term sum), σ(u) by L times that plus eps·|σ|, and the
    subtraction z − σ(u) by eps·|z|; doubled for the norm's own rounding."""
    k = z.shape[1]
    entrywise = lipschitz * (np.abs(z) @ np.abs(W).T + np.abs(offsets)) + 2.0 * np.abs(z)
    return 2.0 * (k + 2) * EPS * row_norms(entrywise)


def _evaluate(z, offsets, W, activation):
    """(F(z), σ'(u)) with u = Wz + p (a non-finite sample stays NaN, silently: it is flagged)."""
    with np.errstate(over="ignore", invalid="ignore"):
        value, slope = activation.value_and_slope(z @ W.T + offsets)
        return z - value, slope


def _tolerance(z_norms, settings, q):
    """Allowed ‖F‖: the certified bound ‖F‖/(1−q) ≤ atol + rtol·‖z‖ (q < 1); without a
    contraction (allow_noncontractive) the residual itself must meet the tolerance."""
    return (settings.atol + settings.rtol * z_norms) * (1.0 - q if q < 1.0 else 1.0)


def finish_vector(z, done, iterations, offsets, W, activation, gap, method,
                  evaluated=None, certify=True) -> FixedPointResult:
    """Residuals, slopes and certified bounds recomputed at the returned z; a sample with a
    non-finite z or σ(u) gets NaN, converged = False and status NON_FINITE.

    ``gap`` is a lower bound on the smallest singular value of z ↦ F(z)'s inverse Lipschitz
    map: 1 − ‖W‖₂L for a contraction, σ_min(I − W) for the linear DEQ (F(z) = Az − p), 0
    when nothing is certified; then ‖z − z*‖ ≤ (‖F(z)‖ + rounding)/gap (VEC-FP-1).
    ``evaluated`` = (F(z), σ'(u)) where the caller already has them. ``certify=False`` leaves
    the bound out (``error_bound`` None): a risk evaluation reads only status, residual,
    value and slope, and the bound's rounding floor costs an (n, k²) product.
    """
    if evaluated is None:
        F, slope = _evaluate(z, offsets, W, activation)
    else:  # a sample frozen as non-finite (z = NaN) reports σ'(NaN), as a fresh evaluation does
        F, slope = _evaluate_where(np.isnan(z).any(axis=1), z, offsets, W, activation, *evaluated)
    norms = row_norms(F)
    finite = np.isfinite(norms)
    z = np.where(finite[:, None], z, np.nan)
    converged = done & finite
    bound = None
    if certify:
        noise = rounding_floor(np.where(finite[:, None], z, 0.0), offsets, W, activation.lipschitz)
        with np.errstate(divide="ignore"):
            bound = np.where(finite, (norms + noise) / gap, np.inf) if gap > 0 else np.full(norms.shape, np.inf)
    residual = float(np.max(norms, initial=0.0, where=finite))
    return FixedPointResult(z, batch_status(finite, converged), residual, int(iterations),
                            converged, method, slope, bound)


def identity_minus(stack: np.ndarray) -> np.ndarray:
    """I − M for every matrix of a (rows, k, k) stack, in place (one pass instead of the two
    of ``np.eye(k) - stack``; the same floats: 1 + (−m) = 1 − m exactly)."""
    np.negative(stack, out=stack)
    diagonal = np.arange(stack.shape[-1])
    stack[:, diagonal, diagonal] += 1.0
    return stack


def stacked_solve(matrices, rhs):
    """Solve matrices[i] @ x[i] = rhs[i]; a singular matrix (only possible without a
    contraction) gives NaN for its sample alone."""
    try:
        return np.linalg.solve(matrices, rhs[..., None])[..., 0]
    except np.linalg.LinAlgError:
        out = np.full(rhs.shape, np.nan)
        for i, (matrix, right) in enumerate(zip(matrices, rhs)):
            try:
                out[i] = np.linalg.solve(matrix, right)
            except np.linalg.LinAlgError:
                pass
        return out


def solve_identity_minus_scaled(slope, W, rhs, *, transpose=False, q=np.inf):
    """x with (I − diag(sₙ)W)x = rₙ for every row n (``transpose``: (I − diag(sₙ)W)ᵀx = rₙ).

    Where q = ‖W‖₂L < 1 bounds ‖diag(s)W‖₂ (a contraction), pivoting is not needed: the
    compiled kernel of the ``[fast]`` extra runs (:mod:`deqverify.fast.interleaved_lu`), or
    without it, for k ≤ 8, its numpy twin (:mod:`deqverify.core.interleaved_elimination`).
    Otherwise, and always without a contraction, LAPACK's pivoting solve per sample (the
    reference of both, REF-VEC-SOLVE and FAST-SOLVE)."""
    pivot_free = _pivot_free(W.shape[0], q)
    if pivot_free is not None:
        return pivot_free(np.ascontiguousarray(slope, dtype=float), np.ascontiguousarray(W, dtype=float),
                          np.ascontiguousarray(rhs, dtype=float), transpose)
    matrices = W.T[None, :, :] * slope[:, None, :] if transpose else slope[:, :, None] * W
    return stacked_solve(identity_minus(matrices), rhs)


def _converged(z, offsets, norms, W, activation, settings, q, floor_norm):
    """‖F(z)‖ ≤ max(tolerance, rounding floor) per sample, with NaN in either side meaning
    "not converged" (as ``np.maximum`` propagates it). The (n, k²) floor is computed only where
    it can decide: by the triangle inequality it is at most
    c = 2(k+2)·eps·(L‖|W|‖₂‖z‖ + L‖p‖ + 2‖z‖) (``floor_norm`` = ‖|W|‖₂), so a residual above c
    (with 1e-6 relative slack for the rounding of c itself) is not at the floor — unless an
    entry of the floor's own sum can overflow to inf, which no entry does while
    √k·(L‖|W|‖₂‖z‖ + L‖p‖ + 2‖z‖) < 1e307 (every entry of |W||z| is at most ‖|W|‖_∞·max|z|
    ≤ √k‖|W|‖₂‖z‖). The decision is the same as with the floor computed everywhere."""
    k, L = z.shape[1], activation.lipschitz
    with np.errstate(over="ignore", invalid="ignore"):  # inf and NaN here are decided, not errors
        z_norms = row_norms(z)
        tolerance = _tolerance(z_norms, settings, q)
        converged = norms <= tolerance
        scale = (L * floor_norm + 2.0) * z_norms + L * row_norms(offsets)
        bound = 2.0 * (k + 2) * EPS * (1.0 + 1e-6) * scale
        safe = np.sqrt(k) * scale < 1e307
        maybe = np.flatnonzero(~converged & (~(norms > bound) | ~safe))
        if maybe.size:
            floor = rounding_floor(z[maybe], offsets[maybe], W, L)
            converged[maybe] = norms[maybe] <= np.maximum(tolerance[maybe], floor)
    return converged


def _iterate(offsets, W, activation, settings, q, method, propose, certify):
    """Shared loop: evaluate F on the active samples, freeze the converged and non-finite
    ones, and move the rest by ``propose`` (which returns a candidate per active sample);
    a candidate is kept where it shrinks ‖F‖ by the contraction factor, else z ← g(z).
    A kept candidate's F (evaluated for that test) is the next iteration's F."""
    n, k = offsets.shape
    z = np.zeros((n, k))
    done = np.zeros(n, dtype=bool)
    active = np.flatnonzero(np.isfinite(offsets).all(axis=1))
    z[~np.isin(np.arange(n), active)] = np.nan
    accept_factor = q if q < 1.0 else 1.0
    floor_norm = np.linalg.norm(np.abs(W), 2) if W.size else 0.0
    state = {"n": n, "q": q}
    iterations = 0
    za, pa = z[active], offsets[active]
    F, slope = _evaluate(za, pa, W, activation)
    final_F, final_slope = np.full((n, k), np.nan), np.full((n, k), np.nan)  # at each sample's z
    while active.size and iterations <= settings.max_iter:
        final_F[active], final_slope[active] = F, slope
        norms = row_norms(F)
        converged = _converged(za, pa, norms, W, activation, settings, q, floor_norm)
        bad = ~np.isfinite(norms)
        done[active[converged]] = True
        z[active[bad]] = np.nan
        moving = ~(converged | bad)
        if iterations == settings.max_iter or not moving.any():
            break
        iterations += 1
        if not moving.all():
            active, za, pa, F, slope, norms = (array[moving] for array in (active, za, pa, F, slope, norms))
        contraction_step = za - F
        candidate = propose(state, active, za, F, slope, W)
        if candidate is None:
            za = contraction_step
            F, slope = _evaluate(za, pa, W, activation)
        else:
            F_candidate, slope_candidate = _evaluate(candidate, pa, W, activation)
            keep = row_norms(F_candidate) <= accept_factor * norms
            evaluated = keep.copy()
            if q >= 1.0:  # no contraction to fall back on: backtrack along the proposed step
                candidate, keep = _backtrack(za, candidate, keep, norms, pa, W, activation)
            za = np.where(keep[:, None], candidate, contraction_step)
            F, slope = _evaluate_where(~evaluated, za, pa, W, activation, F_candidate, slope_candidate)
        z[active] = za
    return finish_vector(z, done, iterations, offsets, W, activation,
                         1.0 - q if q < 1.0 else 0.0, method, evaluated=(final_F, final_slope),
                         certify=certify)


def _evaluate_where(rows, z, offsets, W, activation, F, slope):
    """(F, σ') at z: the given values, re-evaluated on ``rows`` (where z is not the point they
    were evaluated at)."""
    rows = np.flatnonzero(rows)
    if rows.size:
        F, slope = F.copy(), slope.copy()
        F[rows], slope[rows] = _evaluate(z[rows], offsets[rows], W, activation)
    return F, slope


BACKTRACK_HALVINGS = 30
"""Step fractions 1/2 … 2⁻³⁰ tried where a full step does not decrease ‖F‖ (no contraction)."""


def _backtrack(z, candidate, keep, norms, offsets, W, activation):
    """Armijo backtracking z + t·(candidate − z), t = 1/2, 1/4, …, for the samples whose full
    step did not decrease ‖F‖: the first t with ‖F‖ ≤ (1 − 10⁻⁴t)‖F(z)‖ is kept."""
    candidate, keep = candidate.copy(), keep.copy()
    direction = candidate - z
    fraction = 1.0
    for _ in range(BACKTRACK_HALVINGS):
        pending = np.flatnonzero(~keep)
        if not pending.size:
            break
        fraction /= 2.0
        trial = z[pending] + fraction * direction[pending]
        F_trial, _ = _evaluate(trial, offsets[pending], W, activation)
        better = row_norms(F_trial) <= (1.0 - 1e-4 * fraction) * norms[pending]
        candidate[pending[better]] = trial[better]
        keep[pending[better]] = True
    return candidate, keep


def _newton_step(state, active, z, F, slope, W):
    return z - solve_identity_minus_scaled(slope, W, F, q=state["q"])


def _picard_step(state, active, z, F, slope, W):
    return None


def _anderson_step(state, active, z, F, slope, W):
    """Type-II Anderson: z⁺ = Σⱼ αⱼ g(zⱼ) over the last m iterates, α minimising ‖Σ αⱼ Fⱼ‖
    with Σ αⱼ = 1 (normal equations on the m×m Gram matrix, per sample)."""
    if "g" not in state:
        shape = (state["n"], ANDERSON_MEMORY, z.shape[1])
        state["g"], state["F"] = np.zeros(shape), np.zeros(shape)
        state["count"] = 0
    slot = state["count"] % ANDERSON_MEMORY
    state["g"][active, slot] = z - F
    state["F"][active, slot] = F
    state["count"] += 1
    used = min(state["count"], ANDERSON_MEMORY)
    if used < 2:
        return None
    history_g, history_F = state["g"][active, :used], state["F"][active, :used]
    gram = np.einsum("nik,njk->nij", history_F, history_F)
    scale = np.trace(gram, axis1=1, axis2=2)[:, None, None]
    gram = gram + ANDERSON_REGULARISATION * scale * np.eye(used) + np.finfo(float).tiny * np.eye(used)
    weights = stacked_solve(gram, np.ones((active.size, used)))
    weights /= weights.sum(axis=1, keepdims=True)
    return np.einsum("ni,nik->nk", weights, history_g)


STEPS = {"newton": _newton_step, "picard": _picard_step, "anderson": _anderson_step}


def solve_vector(offsets: np.ndarray, W: np.ndarray, activation: Activation,
                 settings: NewtonSettings | PicardSettings | AndersonSettings,
                 q: float, *, certify: bool = True) -> FixedPointResult:
    """z = σ(Wz + p) for every row p of ``offsets`` (n, k), in row chunks.

    ``q`` = ‖W‖₂·L (computed by the caller, which has refused q ≥ 1 unless opted in);
    ``certify`` as for :func:`finish_vector`.
    """
    step = STEPS[settings.method]
    rows = chunk_rows(W.shape[0], q)
    results = [_iterate(offsets[start:start + rows], W, activation, settings, q,
                        settings.method, step, certify)
               for start in range(0, offsets.shape[0], rows)]
    return results[0] if len(results) == 1 else merge_results(results)
