"""Vector (multi-neuron) DEQ: z = σ(Wz + Ux + b) ∈ ℝᵏ per sample, output ŷ = vᵀz.

Well-posedness (VEC-FP-1): with q = ‖W‖₂·L < 1 the fixed point is unique; the linear DEQ
(σ = identity) has z = A⁻¹(Ux + b), A = I − W, and is singular when A is.

Implicit gradient (VEC-FP-2): with u = Wz + Ux + b, S = diag(σ'(u)) and g = ∂ℓ/∂z, the
adjoint w solves (I − SW)ᵀw = g; then ∇_W ℓ = (Sw)zᵀ, ∇_U ℓ = (Sw)xᵀ, ∇_b ℓ = Sw and
∇_v ℓ = (∂ℓ/∂ŷ)·z. One k×k solve per sample: O(n(k³ + kd)), no nk×nk matrix anywhere.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from deqverify.core import solve
from deqverify.core.activations import IDENTITY, Activation, get_activation
from deqverify.core.errors import (
    InvalidInputError,
    NonContractiveError,
    SingularDEQError,
)
from deqverify.core.solve import SolveSummary
from deqverify.core.validation import as_count, as_data, as_vector
from deqverify.core.vector_params import PARTS, VectorParams
from deqverify.core.vector_solve import (
    chunk_rows,
    finish_vector,
    solve_identity_minus_scaled,
    solve_vector,
)

SINGULAR_RATIO = 64 * solve.EPS
"""σ_min(I − W) ≤ 64·eps·max(1, σ_max(I − W)) counts as singular: below it the computed
A⁻¹(Ux + b) carries no correct digit (relative error ≈ eps·cond(A))."""
FLOW_MARGIN = 1e-6
"""Gradient flow stops when σ_min(I − W) (linear) or 1 − ‖W‖₂L falls below this."""


class WeightAnalysis(NamedTuple):
    """What the well-posedness check and the solves need from W, computed once per W."""

    q: float | None
    """‖W‖₂·L (nonlinear DEQ only: the linear one needs A's singular values instead)."""
    singular: np.ndarray | None
    """Singular values of A = I − W, descending (linear DEQ only)."""
    A: np.ndarray | None
    """A = I − W (linear DEQ only)."""


class VectorDEQ:
    """z = σ(Wz + Ux + b), ŷ = vᵀz with k = ``width`` neurons.

    Parameters
    ----------
    width : int
        k ≥ 1.
    activation : str or Activation
    method : {"newton", "anderson", "picard"}
        Globalised Newton (default), Anderson(m) for large k, Picard (reference).
    settings : NewtonSettings | AndersonSettings | PicardSettings, optional
    allow_noncontractive : bool
        Accept ‖W‖₂L ≥ 1 (no uniqueness, no certified bound): Newton is tried and the status
        says whether it converged. Default False: :class:`NonContractiveError`.
    frozen : tuple of {"W", "U", "b", "v"}
        Parts held fixed: their gradient is reported as 0, so gradient flow and descent do
        not move them (e.g. ``frozen=("b", "v")`` with k = 1 is the scalar DEQ, VEC-REDUCE).
    """

    def __init__(self, width: int, activation: str | Activation = "tanh", method: str = "newton",
                 settings=None, *, allow_noncontractive: bool = False, frozen=()):
        self.width = as_count(width, "width", minimum=1)
        self.activation = get_activation(activation)
        if method not in solve.SOLVERS:
            raise InvalidInputError(f"unknown method {method!r}; use one of {sorted(solve.SOLVERS)}")
        self.method = method
        self.settings = settings if settings is not None else solve.DEFAULT_SETTINGS[method]
        if getattr(self.settings, "method", None) != method:
            raise InvalidInputError(
                f"settings {self.settings!r} do not belong to method {method!r}; pass "
                f"{type(solve.DEFAULT_SETTINGS[method]).__name__}(...)")
        if not isinstance(allow_noncontractive, bool):
            raise InvalidInputError("allow_noncontractive must be True or False")
        self.allow_noncontractive = allow_noncontractive
        frozen = (frozen,) if isinstance(frozen, str) else tuple(frozen)
        unknown = [part for part in frozen if part not in PARTS]
        if unknown:
            raise InvalidInputError(f"frozen parts {unknown} unknown; choose from {PARTS}")
        self.frozen = frozen
        self._last_analysis: tuple[bytes, WeightAnalysis] | None = None
        self._last_validated: tuple[np.ndarray, VectorParams] | None = None

    def __repr__(self):
        """The call that rebuilds this model (built-in σ): options only where not the default."""
        extra = "".join([
            f", settings={self.settings!r}" if self.settings != solve.DEFAULT_SETTINGS[self.method] else "",
            ", allow_noncontractive=True" if self.allow_noncontractive else "",
            f", frozen={self.frozen!r}" if self.frozen else ""])
        return (f"VectorDEQ(width={self.width}, activation={self.activation.name!r}, "
                f"method={self.method!r}{extra})")

    @property
    def is_linear(self) -> bool:
        return self.activation is IDENTITY

    # -- parameters ---------------------------------------------------------------------
    def params(self, theta, dim: int) -> VectorParams:
        """``theta`` (VectorParams or flat) as VectorParams of this width and input dim."""
        if isinstance(theta, VectorParams):
            if theta.width != self.width or theta.dim != dim:
                raise InvalidInputError(
                    f"parameters have width {theta.width} and dim {theta.dim}; this model has "
                    f"width {self.width} and the data dim {dim}")
            return theta
        validated = self._last_validated
        if validated is not None and validated[0] is theta and validated[1].dim == dim:
            return validated[1]
        return VectorParams.from_flat(theta, self.width, dim)

    def as_parameters(self, theta, dim: int) -> np.ndarray:
        """The validated flat vector θ (length k² + k·d + 2k), read-only. The model remembers
        the last one it returned, so that the well-posedness check and the solves of the
        same evaluation do not validate it again."""
        params = self.params(theta, dim)
        flat = params.flat
        flat.flags.writeable = False
        self._last_validated = (flat, params)
        return flat

    def analyse(self, W: np.ndarray) -> WeightAnalysis:
        """q (nonlinear DEQ), or A = I − W and its singular values (linear DEQ), for this W.
        The last result is kept (keyed by W's bytes): a risk evaluation asks for it in the
        well-posedness check, the solve and the adjoint."""
        key = W.tobytes()
        cached = self._last_analysis
        if cached is not None and cached[0] == key:
            return cached[1]
        if self.is_linear:
            A = np.eye(self.width) - W
            analysis = WeightAnalysis(None, np.linalg.svd(A, compute_uv=False), A)
        else:
            analysis = WeightAnalysis(float(np.linalg.norm(W, 2)) * self.activation.lipschitz,
                                      None, None)
        self._last_analysis = (key, analysis)
        return analysis

    def contraction(self, params: VectorParams) -> float:
        """q = ‖W‖₂·L."""
        if self.is_linear:
            return float(np.linalg.norm(params.W, 2))
        return self.analyse(params.W).q

    def check_well_posed(self, params: VectorParams) -> None:
        """SingularDEQError for a singular I − W (linear); NonContractiveError for
        ‖W‖₂L ≥ 1 unless ``allow_noncontractive`` (VEC-FP-1)."""
        analysis = self.analyse(params.W)
        if self.is_linear:
            singular = analysis.singular
            if singular[-1] <= SINGULAR_RATIO * max(1.0, singular[0]):
                raise SingularDEQError(
                    f"linear vector DEQ is singular: σ_min(I − W) = {singular[-1]:.3g} "
                    f"(σ_max = {singular[0]:.3g}); z = (I − W)⁻¹(Ux + b) is not determined — "
                    "move W away from the set where I − W is singular")
            return
        q = analysis.q
        if q >= 1.0 and not self.allow_noncontractive:
            raise NonContractiveError(
                f"‖W‖₂·L = {q:.6g} ≥ 1 ({self.activation.name}, L = "
                f"{self.activation.lipschitz:g}): the fixed point may not be unique; scale W "
                f"so that ‖W‖₂ < {1.0 / self.activation.lipschitz:.6g}, or pass "
                "allow_noncontractive=True to try Newton anyway (the status stays honest)")

    def check_parameters(self, theta: np.ndarray) -> None:
        """:meth:`check_well_posed` on a validated flat θ."""
        self.check_well_posed(self.params(theta, self._dim_of(theta)))

    def _dim_of(self, theta: np.ndarray) -> int:
        """d from the length k² + k·d + 2k of a flat θ."""
        return (theta.size - self.width * self.width - 2 * self.width) // self.width

    def truth(self, xi):
        """No single true parameter: the symmetries (VEC-ORTH, VEC-BAL) make it a manifold."""
        return None

    # -- forward ------------------------------------------------------------------------
    def _offsets(self, params: VectorParams, X: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):  # overflow → that sample NON_FINITE
            return X @ params.U.T + params.b

    def solve_offsets(self, params: VectorParams, offsets: np.ndarray, *,
                      certify: bool = True) -> solve.FixedPointResult:
        """z for each row p of ``offsets`` (n, k); well-posedness already checked.
        ``certify=False``: no certified bound (``error_bound`` None), for the risk sums."""
        analysis = self.analyse(params.W)
        if self.is_linear:
            z = np.linalg.solve(analysis.A, offsets.T).T
            return finish_vector(z, np.ones(z.shape[0], dtype=bool), 0, offsets, params.W,
                                 self.activation, float(analysis.singular[-1]), "closed_form",
                                 certify=certify)
        return solve_vector(offsets, params.W, self.activation, self.settings, analysis.q,
                            certify=certify)

    def fixed_point(self, params, X, *, throw: bool = False) -> solve.FixedPointResult:
        """z(xᵢ) for every row of X: value (n, k), status, residual, iterations, per-sample
        converged and certified error bound (VEC-FP-1)."""
        X = as_data(X)
        params = self.params(params, X.shape[1])
        self.check_well_posed(params)
        result = self.solve_offsets(params, self._offsets(params, X))
        return result.raise_for_status() if throw else result

    def output(self, params, X) -> np.ndarray:
        """ŷ = vᵀz(x) per row; raises ConvergenceError if any solve failed."""
        X = as_data(X)
        params = self.params(params, X.shape[1])
        return self.fixed_point(params, X, throw=True).value @ params.v

    def teacher(self, X, xi) -> np.ndarray:
        """Targets σ(ξᵀx) (ξᵀx for the linear DEQ), as for the scalar model."""
        X = as_data(X)
        return self.activation.f(X @ as_vector(xi, "xi", X.shape[1]))

    # -- gradient -----------------------------------------------------------------------
    def adjoint(self, params: VectorParams, result: solve.FixedPointResult) -> np.ndarray:
        """a with (I − SW)ᵀ a = v per sample (n, k): then ∂ŷ/∂z-driven adjoints are scalar
        multiples of a, w = (∂ℓ/∂ŷ)·a (VEC-FP-2)."""
        if self.is_linear:
            a = np.linalg.solve(self.analyse(params.W).A.T, params.v)
            return np.broadcast_to(a, result.value.shape)
        slope, q = result.slope, self.analyse(params.W).q
        out = np.empty_like(slope)
        rows = chunk_rows(self.width, q)
        for start in range(0, slope.shape[0], rows):
            s = slope[start:start + rows]
            out[start:start + rows] = solve_identity_minus_scaled(s, params.W, np.broadcast_to(params.v, s.shape),
                                                                  transpose=True, q=q)
        return out

    def squared_error_sums(self, theta: np.ndarray, X: np.ndarray, targets: np.ndarray, *,
                           with_gradient: bool = True):
        """(Σᵢ (ŷᵢ − tᵢ)², Σᵢ ∇_θ (ŷᵢ − tᵢ)², SolveSummary) over the rows of a validated block;
        the gradient of frozen parts is 0; it is None when ``with_gradient`` is False (no
        adjoint solves)."""
        params = self.params(theta, X.shape[1])
        result = self.solve_offsets(params, self._offsets(params, X), certify=False)
        summary = SolveSummary(result.status, result.residual, result.iterations)
        if result.status is not solve.Status.CONVERGED:
            return np.nan, np.full(theta.size, np.nan), summary
        Z = result.value
        error = Z @ params.v - targets
        if not with_gradient:
            return float(error @ error), None, summary
        weighted = (2.0 * error)[:, None] * result.slope * self.adjoint(params, result)
        gradient = self.flat_gradient(W=weighted.T @ Z, U=weighted.T @ X,
                                      b=weighted.sum(axis=0), v=(2.0 * error) @ Z)
        return float(error @ error), gradient, summary

    def flat_gradient(self, **parts) -> np.ndarray:
        """Gradient parts W, U, b, v as one flat vector, frozen parts set to 0."""
        return np.concatenate([np.zeros(np.size(parts[name])) if name in self.frozen
                               else np.ravel(parts[name]) for name in PARTS])

    # -- dynamics -----------------------------------------------------------------------
    def flow_events(self, theta0: np.ndarray, dim: int) -> list:
        """Terminal ``solve_ivp`` events: s₀·sign(det(I − W))·σ_min(I − W) − margin (linear; s₀
        the sign at the start) or 1 − ‖W‖₂L − margin (nonlinear, unless non-contractive W is
        allowed)."""
        k = self.width

        def matrix(theta):
            return theta[:k * k].reshape(k, k)

        # a trial state an integrator built from a NaN stage is not finite: NaN there (no
        # crossing), where the SVD would raise LinAlgError and end the whole flow
        if self.is_linear:
            side = np.linalg.slogdet(np.eye(k) - matrix(np.asarray(theta0, dtype=float)))[0]

            def event(_, theta):
                # σ_min ≥ 0 touches 0 only at the instant a path crosses the singular set: a
                # step can jump that. Signed by det(I − W) relative to the start, it changes
                # sign there instead (the scalar DEQ's s₀(1 − θ₂) for k = 1)
                if not np.all(np.isfinite(theta[:k * k])):
                    return np.nan
                A = np.eye(k) - matrix(theta)
                return side * np.linalg.slogdet(A)[0] * np.linalg.svd(A, compute_uv=False)[-1] - FLOW_MARGIN
        elif not self.allow_noncontractive:
            lipschitz = self.activation.lipschitz

            def event(_, theta):
                if not np.all(np.isfinite(theta[:k * k])):
                    return np.nan
                return 1.0 - np.linalg.norm(matrix(theta), 2) * lipschitz - FLOW_MARGIN
        else:
            return []
        event.terminal = True
        return [event]
