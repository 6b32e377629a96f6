"""Risks R(θ) = E[(y_θ(X) − f(X))²] and their gradients (no ½ factor, docs/theorems.md).

∇R(θ) = 2E[(y − f)·σ'(u)/(1 − θ₂σ'(u))·(X, y)] by the implicit function theorem (FP-2).
"""

from __future__ import annotations

import numpy as np

from deqverify.core import solve
from deqverify.core.errors import ConvergenceError, InvalidInputError
from deqverify.core.models import DEQModel
from deqverify.core.solve import SolveSummary
from deqverify.core.validation import as_count, as_data, as_vector
from deqverify.core.vector_model import VectorDEQ

BLOCK_ROWS = 8192
"""Rows of X per block (6.5 MB at d = 100, within L3): each block is read from memory once,
since X_b θ₁, the solve and X_bᵀw all touch it while it is in cache."""



def _owned(array: np.ndarray, original) -> np.ndarray:
    """``array`` as a read-only array that shares no memory with ``original``."""
    if isinstance(original, np.ndarray) and np.shares_memory(array, original):
        array = array.copy()
    array.flags.writeable = False
    return array


def require_model(model) -> DEQModel | VectorDEQ:
    """``model`` itself if it is a DEQModel or VectorDEQ, else a typed error that shows how
    to build one."""
    if not isinstance(model, (DEQModel, VectorDEQ)):
        raise InvalidInputError(
            f"model must be a DEQModel or VectorDEQ, got {model!r}; e.g. "
            "SingleIndexDEQ('sigmoid'), LinearDEQ() or VectorDEQ(width=4, activation='tanh')")
    return model


class RiskInterface:
    """What every risk offers on top of ``value_and_gradient``: value, gradient, truth."""

    xi: np.ndarray | None = None

    def value(self, theta) -> float:
        """R(θ)."""
        return self.value_and_gradient(theta)[0]

    def gradient(self, theta) -> np.ndarray:
        """∇R(θ) of shape (d+1,)."""
        return self.value_and_gradient(theta)[1]

    @property
    def truth(self) -> np.ndarray | None:
        """θ* = (ξ, 0) when the risk has a teacher ξ and a scalar model, else None."""
        return None if self.xi is None else self.model.truth(self.xi)


class EmpiricalRisk(RiskInterface):
    """R(θ) = (1/n)·Σᵢ (y_θ(xᵢ) − tᵢ)² over a fixed sample.

    Parameters
    ----------
    model : DEQModel
    X : array (n, d)
    targets : array (n,)
    block_rows : int, optional
        Rows per block (default :data:`BLOCK_ROWS`).
    xi : array (d,), optional
        The teacher, if the targets came from one (set by :meth:`from_teacher`).

    Notes
    -----
    For the linear DEQ the linear theorems (LIN-ORTH, T3.1, GD-RADIUS, PL) apply with
    Σ = XᵀX/n, available as :attr:`second_moment`.
    """

    def __init__(self, model: DEQModel, X, targets, *, block_rows: int | None = None, xi=None):
        self.model = require_model(model)
        # the risk owns its data: converted once (float32 or Fortran order cost one copy),
        # and copied if the caller's array was used as is, so that changing the caller's
        # array later can never desynchronise X from the cached Σ = XᵀX/n
        self.X = _owned(as_data(X), X)
        self.targets = _owned(as_vector(targets, "targets", self.X.shape[0]), targets)
        self.block_rows = BLOCK_ROWS if block_rows is None else as_count(block_rows, "block_rows", minimum=1)
        self.xi = None if xi is None else as_vector(xi, "xi", self.X.shape[1])
        self.last_solve: SolveSummary | None = None
        self._second_moment = None

    @classmethod
    def from_teacher(cls, model: DEQModel, X, xi, **kwargs) -> "EmpiricalRisk":
        """Targets from the teacher f_ξ(x) = σ(ξᵀx) (or ξᵀx for the linear DEQ)."""
        model = require_model(model)
        return cls(model, X, model.teacher(X, xi), xi=xi, **kwargs)

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    @property
    def dim(self) -> int:
        return self.X.shape[1]

    @property
    def second_moment(self) -> np.ndarray:
        """Σ = XᵀX/n, the empirical second-moment matrix."""
        if self._second_moment is None:
            self._second_moment = self.X.T @ self.X / self.n_samples
        return self._second_moment

    def feature_moment(self, weight) -> np.ndarray:
        """(1/n)Σᵢ w(vᵢ)(xᵢ, σ(vᵢ))(xᵢ, σ(vᵢ))ᵀ with vᵢ = ξᵀxᵢ (needs a teacher ξ)."""
        v = self.X @ self._require_teacher()
        features = np.column_stack([self.X, self.model.activation.f(v)])
        return (features * weight(v)[:, None]).T @ features / self.n_samples

    def hessian_at_truth(self) -> np.ndarray:
        """H* = (2/n)Σ σ'(ξᵀxᵢ)²(xᵢ, σ)(xᵢ, σ)ᵀ, the Hessian at θ* = (ξ, 0) (SI-HESS)."""
        return 2.0 * self.feature_moment(lambda v: self.model.activation.df(v) ** 2)

    def reached_pre_activations(self) -> tuple[float, float]:
        """[min ξᵀxᵢ, max ξᵀxᵢ]: where A-act's slope floor γ is taken."""
        v = self.X @ self._require_teacher()
        return float(v.min()), float(v.max())

    def _require_teacher(self) -> np.ndarray:
        if self.xi is None:
            raise InvalidInputError("this risk has no teacher ξ; build it with EmpiricalRisk.from_teacher")
        return self.xi

    def value(self, theta) -> float:
        """R(θ), without the adjoint solves of the gradient."""
        return self._sums(theta, with_gradient=False)[0]

    def value_and_gradient(self, theta) -> tuple[float, np.ndarray]:
        """(R(θ), ∇R(θ)); raises ConvergenceError if any forward solve failed.

        The model owns every solve: per block of rows it returns the sums of the squared
        errors and of their gradients (:meth:`DEQModel.squared_error_sums`).
        """
        return self._sums(theta, with_gradient=True)

    def _sums(self, theta, with_gradient: bool):
        theta = self.model.as_parameters(theta, self.dim)
        self.model.check_parameters(theta)
        loss = 0.0
        gradient = np.zeros(theta.size)
        summaries = []
        for start in range(0, self.n_samples, self.block_rows):
            stop = start + self.block_rows
            block_loss, block_gradient, summary = self.model.squared_error_sums(
                theta, self.X[start:stop], self.targets[start:stop], with_gradient=with_gradient)
            summaries.append(summary)
            if summary.status is not solve.Status.CONVERGED:
                break
            loss += block_loss
            if with_gradient:
                gradient += block_gradient
        status = solve.worst_status(s.status for s in summaries)
        residual = max(s.residual for s in summaries)
        self.last_solve = SolveSummary(status, residual, max(s.iterations for s in summaries))
        if status is not solve.Status.CONVERGED:
            raise ConvergenceError(
                f"forward solve failed ({status}, residual {residual:.3g}) at θ = "
                f"{np.array2string(theta, threshold=8)}; the risk is undefined there: inspect "
                "model.fixed_point(theta, X)")
        return loss / self.n_samples, gradient / self.n_samples
