"""The checker's own reference for any layer z* = f(z*, x; θ): it never uses the layer's solver.

Blocks. An ``independent`` layer is n separate systems of size K = prod(state_shape); a
``coupled`` one is one system of size n·K. Everything here works on a block view (m, K) of
the state: m = n or 1.

* Per-block Jacobians J = ∂f/∂z, dense, by K Jacobian-vector products (the layer's ``jvp_f``
  or central differences of f): probing with e_j in every block at once gives column j of
  every block's J.
* Forward: globalised Newton z ← z − α(I − J)⁻¹(z − f(z)), α halved until ‖z − f(z)‖
  decreases, per block; the residual ‖z − f(z)‖ is recomputed from f, and the error estimate
  ‖z − z*‖ ≈ ‖z − f(z)‖/σ_min(I − J) is first order (a bound would need the Lipschitz constant
  of J), σ_min by a dense SVD of each block (named ``dense SVD`` in reports). A block counts as
  certified only if σ_min(I − J) > √eps·‖I − J‖₂: nearer a fold the adjoint's own error
  (≈ eps·cond²) is in no tolerance.
* Backward: the exact adjoint (I − J)ᵀu = g by a dense solve per block; its residual is
  reported. The declared oracles differ only in u:
  IFT u = (I − J)⁻ᵀg; phantom(k, τ) u = τΣ_{i<k}(Bᵀ)ⁱg with B = τJ + (1−τ)I (BWD-PHANTOM);
  JFB u = g. The parameter gradient is uᵀ∂f/∂θ at z*, from ``vjp_f_params`` or central
  differences in each raw parameter.
* ‖J‖₂ and ρ(J) per block from the same dense Jacobian (SVD and eigenvalues: exact up to
  rounding, not power-iteration estimates).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deqverify.conformance.layer_protocol import BackwardMode
from deqverify.core.phantom import phantom_adjoint

EPS = np.finfo(float).eps
DIFFERENCE_STEP = EPS ** (1 / 3)
"""Central differences: truncation h²·|f'''|/6 and rounding eps·|f|/h balance at h ≈ eps^(1/3),
both ≈ eps^(2/3) ≈ 4e-11 relative."""
ROUNDING_FLOOR = 16 * EPS
"""Newton stops per block at ‖z − f(z)‖ ≤ 16·eps·√K·max(1, ‖z‖) (a handful of roundings per
component of f), when no damped step decreases the residual, or — once below
:data:`RESIDUAL_TOLERANCE` — when a step no longer halves it (stagnation at the floor)."""
RESIDUAL_TOLERANCE = 1e-12
"""Relative residual ‖z − f(z)‖/max(1, ‖z‖) the reference must reach: evaluating f costs a
few hundred rounding errors at most for the layers checked (≈ 1e-14), so 1e-12 leaves a
factor 100 and still pins z* to ≈ 1e-12·cond."""
SINGULAR_FLOOR = float(np.sqrt(EPS))
"""σ_min(I − J)/‖I − J‖₂ below which a root is not certified (condition number above 6.7e7)."""
MAX_NEWTON = 60
MAX_HALVINGS = 30


def _norms(blocks: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        return np.linalg.norm(blocks, axis=-1)


@dataclass
class ReferenceSolution:
    """The reference fixed point in the layer's own shape, with its certificate per sample."""

    z: np.ndarray               # (n, *state_shape)
    converged: np.ndarray       # (n,) bool: residual below tolerance and I − J invertible
    residual: np.ndarray        # (n,) relative ‖z − f(z)‖/max(1, ‖z‖), recomputed from f
    error_estimate: np.ndarray  # (n,) ‖z − f(z)‖/σ_min(I − J)
    sigma_min: np.ndarray       # (n,) σ_min(I − J) (per block, repeated over a coupled batch)
    norm_J: np.ndarray          # (n,) ‖J‖₂
    rho_J: np.ndarray           # (n,) spectral radius of J
    iterations: int
    jacobian: np.ndarray        # (m, K, K) at z

    @property
    def all_converged(self) -> bool:
        return bool(np.all(self.converged))


class LayerMap:
    """f of one layer on one input batch, in the block view, with its derivatives."""

    def __init__(self, layer, x, independent: bool):
        self.layer, self.x = layer, np.asarray(x, dtype=float)
        self.n = self.x.shape[0]
        self.state_shape = tuple(layer.state_shape)
        self.K = int(np.prod(self.state_shape, dtype=int))
        self.independent = independent
        self.m = self.n if independent else 1
        self.size = self.K if independent else self.n * self.K  # unknowns per block

    def blocks(self, z) -> np.ndarray:
        return np.asarray(z, dtype=float).reshape(self.m, -1)

    def state(self, blocks) -> np.ndarray:
        return np.asarray(blocks).reshape((self.n, *self.state_shape))

    def F(self, blocks, rows=None) -> np.ndarray:
        """f in the block view (``rows``: a subset of an independent batch)."""
        x = self.x if rows is None else self.x[rows]
        z = blocks.reshape((x.shape[0], *self.state_shape)) if self.independent else self.state(blocks)
        with np.errstate(all="ignore"):  # a copy: frameworks hand out read-only views
            out = np.array(self.layer.f(z, x), dtype=float)
        return out.reshape(blocks.shape)

    def jvp(self, blocks, directions, rows=None) -> np.ndarray:
        """∂f/∂z·v per block: the layer's ``jvp_f`` or a central difference per block."""
        x = self.x if rows is None else self.x[rows]
        if hasattr(self.layer, "jvp_f"):
            shape = (x.shape[0], *self.state_shape)
            out = self.layer.jvp_f(blocks.reshape(shape), x, directions.reshape(shape))
            return np.array(out, dtype=float).reshape(blocks.shape)
        scale = np.maximum(1.0, np.max(np.abs(blocks), axis=1, initial=0.0))
        size = np.max(np.abs(directions), axis=1, initial=0.0)
        h = DIFFERENCE_STEP * scale / np.where(size > 0, size, 1.0)
        step = h[:, None] * directions
        return (self.F(blocks + step, rows) - self.F(blocks - step, rows)) / (2 * h[:, None])

    def jacobian(self, blocks, rows=None) -> np.ndarray:
        """Dense ∂f/∂z per block, (m, K, K), by K probes (column j: e_j in every block)."""
        m, size = blocks.shape
        J = np.empty((m, size, size))
        probe = np.zeros_like(blocks)
        for j in range(size):
            probe[:, j] = 1.0
            J[:, :, j] = self.jvp(blocks, probe, rows)
            probe[:, j] = 0.0
        return J

    def vjp_params(self, blocks, adjoint) -> dict:
        """uᵀ ∂f/∂θ summed over the batch, per raw parameter: ``vjp_f_params`` or central
        differences of Σ u·f(z, x; θ) in each raw parameter (through ``with_parameters``)."""
        z, u = self.state(blocks), self.state(adjoint)
        if hasattr(self.layer, "vjp_f_params"):
            return {name: np.asarray(value, dtype=float)
                    for name, value in self.layer.vjp_f_params(z, self.x, u).items()}
        params = {name: np.array(value, dtype=float) for name, value in self.layer.parameters().items()}
        gradient = {}
        for name, value in params.items():
            flat = value.reshape(-1)
            out = np.empty(flat.size)
            for i in range(flat.size):
                h = DIFFERENCE_STEP * max(1.0, abs(flat[i]))
                sides = []
                for sign in (1.0, -1.0):
                    moved = {key: array.copy() for key, array in params.items()}
                    moved[name].reshape(-1)[i] += sign * h
                    with np.errstate(all="ignore"):
                        sides.append(float(np.sum(u * np.asarray(
                            self.layer.with_parameters(moved).f(z, self.x), dtype=float))))
                out[i] = (sides[0] - sides[1]) / (2 * h)
            gradient[name] = out.reshape(value.shape)
        return gradient


def _solve_blocks(A, b) -> np.ndarray:
    """A x = b per block; a singular block gets NaN (never a silent least-squares answer)."""
    try:
        return np.linalg.solve(A, b[..., None])[..., 0]
    except np.linalg.LinAlgError:
        out = np.full(b.shape, np.nan)
        for i in range(A.shape[0]):
            try:
                out[i] = np.linalg.solve(A[i], b[i])
            except np.linalg.LinAlgError:
                pass
        return out


def solve(layer_map: LayerMap, start=None) -> ReferenceSolution:
    """The reference fixed point of ``layer_map`` (see the module docstring); start: f(0, x)
    unless given (the near-instability sweep continues from the previous scale's root)."""
    m, size = layer_map.m, layer_map.size
    Z = layer_map.F(np.zeros((m, size))) if start is None else layer_map.blocks(start).copy()
    R = Z - layer_map.F(Z)
    floor = ROUNDING_FLOOR * np.sqrt(size)
    norms = _norms(R)
    active = np.isfinite(norms) & (norms > floor * np.maximum(1.0, _norms(Z)))
    iterations = 0
    while active.any() and iterations < MAX_NEWTON:
        iterations += 1
        rows = np.flatnonzero(active) if layer_map.independent else None
        Za, Ra = Z[active], R[active]
        step = _solve_blocks(np.eye(size) - layer_map.jacobian(Za, rows), Ra)
        alpha = np.ones(Za.shape[0])
        improved = np.zeros(Za.shape[0], dtype=bool)
        trial_Z, trial_R = Za.copy(), Ra.copy()
        for _ in range(MAX_HALVINGS):
            todo = ~improved
            candidate = Za - alpha[:, None] * step
            with np.errstate(all="ignore"):
                candidate_R = candidate - layer_map.F(candidate, rows)
            better = todo & (_norms(candidate_R) < _norms(Ra))
            trial_Z[better], trial_R[better] = candidate[better], candidate_R[better]
            improved |= better
            if improved.all():
                break
            alpha[todo] *= 0.5
        index = np.flatnonzero(active)
        Z[index[improved]], R[index[improved]] = trial_Z[improved], trial_R[improved]
        new_norms = _norms(R)
        scale = np.maximum(1.0, _norms(Z))
        # far from the root damped steps may gain little: go on while the residual falls;
        # below the certification tolerance, stop once a step no longer halves it
        still = (new_norms > floor * scale) & ((new_norms < 0.5 * norms)
                                               | (new_norms > RESIDUAL_TOLERANCE * scale))
        norms = new_norms
        active[index] = improved & still[index]
    return certify(layer_map, Z, iterations)


def certify(layer_map: LayerMap, Z, iterations: int = 0) -> ReferenceSolution:
    """Residual, Jacobian and spectra at ``Z`` (blocks), repeated per sample for a coupled batch."""
    size = layer_map.size
    R = Z - layer_map.F(Z)
    relative = _norms(R) / np.maximum(1.0, _norms(Z))
    J = layer_map.jacobian(Z)
    finite = np.all(np.isfinite(J), axis=(1, 2))
    J_safe = np.where(finite[:, None, None], J, 0.0)
    singular = np.linalg.svd(np.eye(size) - J_safe, compute_uv=False)
    sigma_min = np.where(finite, singular[:, -1], 0.0)
    norm_J = np.where(finite, np.linalg.norm(J_safe, 2, axis=(1, 2)), np.inf)
    rho = np.where(finite, np.max(np.abs(np.linalg.eigvals(J_safe)), axis=1), np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        estimate = np.where(sigma_min > 0, _norms(R) / sigma_min, np.inf)
    invertible = sigma_min > SINGULAR_FLOOR * np.where(finite, singular[:, 0], np.inf)
    converged = np.isfinite(relative) & (relative <= RESIDUAL_TOLERANCE) & invertible
    per_sample = (lambda a: a) if layer_map.independent else (lambda a: np.repeat(a, layer_map.n))
    return ReferenceSolution(layer_map.state(Z), per_sample(converged), per_sample(relative),
                             per_sample(estimate), per_sample(sigma_min), per_sample(norm_J),
                             per_sample(rho), iterations, J)


@dataclass
class ReferenceGradient:
    gradient: dict              # raw parameter name → array
    adjoint_residual: float     # max relative ‖(I − J)ᵀu − g‖/‖g‖ (IFT only; 0 otherwise)


def adjoint(solution: ReferenceSolution, layer_map: LayerMap, g, mode: BackwardMode) -> ReferenceGradient:
    """The gradient of a loss with ∂ℓ/∂z* = g under ``mode``, at the reference z*."""
    G = layer_map.blocks(g)
    J = solution.jacobian
    size = layer_map.size
    residual = 0.0
    if mode.kind == "ift":
        A = np.eye(size) - np.swapaxes(J, 1, 2)
        u = _solve_blocks(A, G)
        residual = float(np.max(_norms(np.einsum("mij,mj->mi", A, u) - G)
                                / np.maximum(_norms(G), np.finfo(float).tiny), initial=0.0))
    elif mode.kind in ("phantom", "jfb"):
        steps, tau = (mode.steps, mode.damping) if mode.kind == "phantom" else (1, 1.0)
        u = phantom_adjoint(J, G, steps, tau)
    else:
        raise ValueError(f"no adjoint oracle for {mode}: unrolled is checked by differences")
    return ReferenceGradient(layer_map.vjp_params(layer_map.blocks(solution.z), u), residual)

