"""DEQ models: the forward fixed point and its implicit gradient (FP-1, FP-2).

* Linear DEQ: y = θ₁ᵀx + θ₂·y, so y = θ₁ᵀx/(1−θ₂); singular at θ₂ = 1 (FP-3).
* Single-index DEQ: y = σ(θ₁ᵀx + θ₂·y), pre-activation u = θ₁ᵀx + θ₂·y.

By the implicit function theorem (FP-2), ∇_θ y = σ'(u)/(1 − θ₂σ'(u)) · (x, y); for the linear
DEQ σ' ≡ 1 and the factor is 1/(1−θ₂). Parameters are one flat vector θ = (θ₁, θ₂) ∈ ℝᵈ⁺¹.
"""

from __future__ import annotations

import math

import numpy as np

from deqverify.core import compiled, solve
from deqverify.core.activations import BUILTIN_ACTIVATIONS, IDENTITY, Activation, get_activation
from deqverify.core.errors import InvalidInputError
from deqverify.core.solve import SolveSummary
from deqverify.core.validation import as_data, as_theta, as_vector

SCALAR_PATH_MAX_ROWS = 4
"""Up to this many samples, Newton runs per sample in plain Python floats (no numpy call
overhead): the latency path used by gradient flow on tiny problems."""
SINGULAR_MARGIN = 1e-6
"""Gradient flow stops when |1 − θ₂| (linear) or 1 − θ₂·L (single-index) falls below this:
the IFT factor 1/(1 − θ₂σ') would exceed 10⁶ and the ODE right-hand side blows up."""


class DEQModel:
    """A scalar DEQ y = σ(θ₁ᵀx + θ₂·y) with a chosen solver.

    Parameters
    ----------
    activation : str or Activation
    method : {"newton", "picard", "anderson"}
        Forward solver for activations without a closed form.
    settings : NewtonSettings | PicardSettings | AndersonSettings, optional
        Tolerances and iteration limits; defaults per method.
    """

    def __init__(self, activation: str | Activation, method: str = "newton", settings=None):
        self.activation = get_activation(activation)
        if method not in solve.SOLVERS:
            raise InvalidInputError(
                f"unknown method {method!r}; use one of {sorted(solve.SOLVERS)}"
            )
        self.method = method
        self.settings = settings if settings is not None else solve.DEFAULT_SETTINGS[method]
        if not isinstance(self.settings, (solve.NewtonSettings, solve.PicardSettings,
                                          solve.AndersonSettings)):
            raise InvalidInputError(
                f"settings must be solve.NewtonSettings, PicardSettings or AndersonSettings, "
                f"got {self.settings!r}; e.g. NewtonSettings(rtol=1e-12, atol=1e-12)")
        if self.settings.method != method:
            raise InvalidInputError(
                f"settings {type(self.settings).__name__} do not belong to method {method!r}; "
                f"pass solve.{type(solve.DEFAULT_SETTINGS[method]).__name__}(...)"
            )

    def __repr__(self):
        """The call that rebuilds this model (built-in σ): settings only where not the default."""
        settings = "" if self.settings == solve.DEFAULT_SETTINGS[self.method] else f", settings={self.settings!r}"
        return f"{type(self).__name__}(activation={self.activation.name!r}, method={self.method!r}{settings})"

    @property
    def is_linear(self) -> bool:
        """True when the output is linear in x for fixed θ (identity activation)."""
        return self.activation is IDENTITY

    def check_well_posed(self, theta2: float) -> None:
        """Raise an :class:`~deqverify.core.errors.IllPosedError` unless y is unique (FP-1, FP-3)."""
        theta2 = float(theta2)
        if self.activation.closed_form is not None:
            self.activation.closed_form(np.zeros(1), theta2)
        else:
            solve.slope_lower_bound(theta2, self.activation)

    def solve_rows(self, theta: np.ndarray, X: np.ndarray) -> solve.FixedPointResult:
        """:meth:`solve_offsets` at the offsets X·θ₁ (θ and X already validated); an offset
        that overflows is reported there, per sample."""
        with np.errstate(over="ignore", invalid="ignore"):  # inf − inf in the sum: NaN, flagged
            offsets = X @ theta[:-1]
        return self.solve_offsets(offsets, float(theta[-1]))

    def solve_offsets(self, offsets: np.ndarray, theta2: float) -> solve.FixedPointResult:
        """Solve y = σ(a + θ₂y) for each offset aᵢ = θ₁ᵀxᵢ (already validated).

        An offset that is not finite comes from overflow in θ₁ᵀx of finite data (e.g.
        2·1e308 − 2·1e308 evaluates to ±inf or NaN while the exact value is 0): its true value
        is unknown, so that sample is NaN, not converged, status NON_FINITE — never the root
        for a = ±inf."""
        if self.activation.closed_form is not None:
            result = self._solve_closed_form(offsets, theta2)
        else:
            result = solve.solve_in_chunks(solve.SOLVERS[self.method], offsets, theta2,
                                           self.activation, self.settings)
        overflowed = ~np.isfinite(offsets)
        if overflowed.any():
            result.value = np.where(overflowed, np.nan, result.value)
            result.converged = result.converged & ~overflowed
            result.status = solve.Status.NON_FINITE
        return result

    @solve.reports_overflow
    def _solve_closed_form(self, offsets, theta2):
        y = self.activation.closed_form(offsets, theta2)
        return solve.finish(y, np.ones(y.shape, dtype=bool), 0, offsets, theta2,
                            self.activation, "closed_form")

    @staticmethod
    def jacobian_factor(result: solve.FixedPointResult, theta2: float) -> np.ndarray:
        """c = σ'(u)/(1 − θ₂σ'(u)) at the solved fixed point: the IFT factor of FP-2."""
        return result.slope / (1.0 - theta2 * result.slope)

    def fixed_point(self, theta, X, *, throw: bool = False) -> solve.FixedPointResult:
        """y_θ(xᵢ) for every row of X (FP-1).

        Parameters
        ----------
        theta : array (d+1,)
        X : array (n, d)
        throw : bool
            Raise :class:`~deqverify.core.errors.ConvergenceError` instead of returning a result
            whose status is not CONVERGED.
        """
        X = as_data(X)
        theta = as_theta(theta, X.shape[1])
        self.check_well_posed(theta[-1])
        result = self.solve_rows(theta, X)
        return result.raise_for_status() if throw else result

    def output_jacobian(self, theta, X) -> np.ndarray:
        """dy/dθ of shape (n, d+1) by the implicit function theorem (FP-2).

        ∂y/∂θ₁ = c·x and ∂y/∂θ₂ = c·y with c = σ'(u)/(1 − θ₂σ'(u)). Raises
        :class:`~deqverify.core.errors.ConvergenceError` if the forward solve failed.
        """
        X = as_data(X)
        theta = as_theta(theta, X.shape[1])
        self.check_well_posed(theta[-1])
        result = self.solve_rows(theta, X).raise_for_status()
        factor = self.jacobian_factor(result, float(theta[-1]))
        return factor[:, None] * np.column_stack([X, result.value])

    def teacher(self, X, xi) -> np.ndarray:
        """Targets f_ξ(x) = σ(ξᵀx) (single-index) or ξᵀx (linear)."""
        X = as_data(X)
        xi = as_vector(xi, "xi", X.shape[1])
        return self.activation.f(X @ xi)

    # -- what risks and dynamics ask of a model (shared with VectorDEQ) ------------------
    def as_parameters(self, theta, dim: int) -> np.ndarray:
        """θ = (θ₁, θ₂) validated: flat, finite, length d + 1."""
        return as_theta(theta, dim)

    def check_parameters(self, theta: np.ndarray) -> None:
        """Typed IllPosedError unless y is unique at θ (FP-1, FP-3)."""
        self.check_well_posed(theta[-1])

    def truth(self, xi) -> np.ndarray:
        """θ* = (ξ, 0): the teacher itself, with no feedback."""
        return np.r_[xi, 0.0]

    def squared_error_sums(self, theta: np.ndarray, X: np.ndarray, targets: np.ndarray, *,
                           with_gradient: bool = True):
        """(Σᵢ (yᵢ − tᵢ)², Σᵢ ∇_θ(yᵢ − tᵢ)², SolveSummary) over the rows of a validated block.
        The scalar gradient needs no solve beyond the forward one, so it is returned whatever
        ``with_gradient`` says (the vector model skips its adjoint solves when it is False).

        ∇_θ(y − t)² = 2(y − t)·c·(x, y) with c = σ'(u)/(1 − θ₂σ'(u)) (FP-2). Up to
        :data:`SCALAR_PATH_MAX_ROWS` rows Newton runs per sample in Python floats (not for
        θ₂·L < −10, where the batched solver works in the pre-activation and the slope must come
        from that u, not from a + θ₂y); above, the built-in sigmoid with Newton runs the
        compiled kernel where the ``[fast]`` extra is on (FAST-SCALAR holds it to the batched
        path). All paths solve the same equation to the same tolerance and report the same way.
        """
        theta2 = float(theta[-1])
        plain_newton = (self.method == "newton" and self.activation.closed_form is None
                        and theta2 * self.activation.lipschitz >= solve.PREACTIVATION_BELOW)
        if plain_newton and X.shape[0] <= SCALAR_PATH_MAX_ROWS:
            return self._squared_error_sums_scalar(theta, theta2, X, targets)
        kernels = compiled.kernels() if plain_newton else None
        if (kernels is not None and self.activation.name in kernels.scalar_risk_activations
                and BUILTIN_ACTIVATIONS[self.activation.name] is self.activation):
            return self._squared_error_sums_compiled(kernels, theta, theta2, X, targets)
        return self._squared_error_sums_batched(theta, theta2, X, targets)

    def _squared_error_sums_compiled(self, kernels, theta, theta2, X, targets):
        """The ``[fast]`` kernel (:mod:`deqverify.fast.scalar_newton`): the plain Newton phase
        and both products with X per sub-block of rows in cache. The rows of any sub-block it
        declines (a sample not converged in the plain phase, or anything not finite) go to
        :meth:`_squared_error_sums_batched`, which flags and reports them."""
        m = solve.slope_lower_bound(theta2, self.activation)
        sums, declined, _ = kernels.scalar_risk_sums(
            np.ascontiguousarray(X, dtype=float), np.ascontiguousarray(targets, dtype=float),
            np.ascontiguousarray(theta[:-1], dtype=float),
            theta2, self.settings.atol, self.settings.rtol,
            solve.newton_error_factor(theta2, m, self.activation), m,
            min(solve.FAST_NEWTON_ITERATIONS, self.settings.max_iter))
        dim = X.shape[1]
        loss, gradient = float(sums[0]), sums[1:dim + 2]
        summary = SolveSummary(solve.Status.CONVERGED, float(sums[dim + 2]), int(sums[dim + 3]))
        if declined.any():
            rows = np.flatnonzero(declined)
            rest_loss, rest_gradient, rest = self._squared_error_sums_batched(theta, theta2, X[rows], targets[rows])
            loss, gradient = loss + rest_loss, gradient + rest_gradient
            summary = SolveSummary(rest.status, max(summary.residual, rest.residual),
                                   max(summary.iterations, rest.iterations))
        return loss, gradient, summary

    def _squared_error_sums_batched(self, theta, theta2, X, targets):
        fp = self.solve_rows(theta, X)
        summary = SolveSummary(fp.status, fp.residual, fp.iterations)
        # a finite y whose loss or gradient overflows: R or ∇R = inf (NaN where +inf and −inf
        # partial sums meet)
        with np.errstate(over="ignore", invalid="ignore"):
            error = fp.value - targets
            weights = error * self.jacobian_factor(fp, theta2)
            gradient = 2.0 * np.append(weights @ X, weights @ fp.value)
            return float(error @ error), gradient, summary

    def _squared_error_sums_scalar(self, theta, theta2, X, targets):
        try:  # an overflow anywhere (Python floats raise, numpy is told to): the batched path,
            # whose answer is then inf or flagged
            with np.errstate(over="raise"):
                return self._squared_error_sums_python(theta, theta2, X, targets)
        except (OverflowError, FloatingPointError):
            return self._squared_error_sums_batched(theta, theta2, X, targets)

    def _squared_error_sums_python(self, theta, theta2, X, targets):
        activation, settings = self.activation, self.settings
        theta1 = theta[:-1]
        loss, iterations, residual = 0.0, 0, 0.0
        gradient = np.zeros_like(theta)
        for row, target in zip(X, targets.tolist()):
            with np.errstate(over="ignore", invalid="ignore"):  # inf − inf: NaN, handled below
                offset = float(row @ theta1)
            if not math.isfinite(offset):  # overflow in θ₁ᵀx: the batched path flags it
                raise OverflowError
            y, converged, used = solve.newton_scalar(offset, theta2, activation, settings)
            iterations = max(iterations, used)
            if not converged:
                return math.nan, np.full(theta.size, math.nan), SolveSummary(
                    solve.Status.MAX_ITERATIONS, math.nan, used)
            pre_activation = offset + theta2 * y
            residual = max(residual, abs(y - activation.value_scalar(pre_activation)))
            slope = activation.slope_scalar(pre_activation)
            error = y - target
            weight = error * slope / (1.0 - theta2 * slope)
            loss += error * error
            gradient[:-1] += weight * row
            gradient[-1] += weight * y
        return loss, 2.0 * gradient, SolveSummary(solve.Status.CONVERGED, residual, iterations)

    def flow_events(self, theta0: np.ndarray, dim: int) -> list:
        """Terminal ``solve_ivp`` events, signed so that no crossing can hide between two
        steps: s₀(1 − θ₂) − margin for the linear DEQ (s₀ = sign(1 − θ₂(0))), 1 − θ₂L −
        margin for a nondecreasing σ, and also 1 + θ₂L − margin for any other σ."""
        if self.is_linear:
            side = 1.0 if theta0[-1] < 1.0 else -1.0
            functions = [lambda _, theta: side * (1.0 - theta[-1]) - SINGULAR_MARGIN]
        else:
            lip = self.activation.lipschitz
            functions = [lambda _, theta: 1.0 - theta[-1] * lip - SINGULAR_MARGIN]
            if not self.activation.monotone:
                functions.append(lambda _, theta: 1.0 + theta[-1] * lip - SINGULAR_MARGIN)
        for function in functions:
            function.terminal = True
        return functions


class SingleIndexDEQ(DEQModel):
    """Single-index DEQ y = σ(θ₁ᵀx + θ₂·y); default solver: safeguarded Newton.

    Well-posed (unique root) when |θ₂|·L < 1, or θ₂·L < 1 for nondecreasing σ; otherwise
    :class:`~deqverify.core.errors.NonContractiveError`. ReLU uses the closed form
    relu(θ₁ᵀx)/(1−θ₂) for θ₂ < 1.
    """

    def __init__(self, activation: str | Activation = "sigmoid", method: str = "newton",
                 settings=None):
        super().__init__(activation, method, settings)


class LinearDEQ(DEQModel):
    """Linear DEQ y = θ₁ᵀx + θ₂·y = θ₁ᵀx/(1−θ₂); θ₂ = 1 raises SingularDEQError (FP-3)."""

    def __init__(self):
        super().__init__(IDENTITY)

    def __repr__(self):
        return "LinearDEQ()"
