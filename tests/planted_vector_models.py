"""Vector DEQs with planted bugs (wrong backward, wrong bound, wrong readout gradient), for
the negative controls of the VEC-* checks and of their precision ladder."""

import dataclasses

import numpy as np

import deqverify as dv


def with_model(problem, model_class):
    old = problem.model
    model = model_class(old.width, old.activation, frozen=old.frozen)
    risk = problem.risk
    if isinstance(risk, dv.EmpiricalRisk):
        risk = dv.EmpiricalRisk(model, risk.X, risk.targets, xi=risk.xi)
    else:
        risk = dv.PopulationRisk(model, risk.population, risk.xi)
    return dataclasses.replace(problem, model=model, risk=risk)


class JacobianFree(dv.VectorDEQ):
    """JFB backward: the adjoint solve (I − SW)ᵀa = v is skipped, a = v."""

    def adjoint(self, params, result):
        return np.broadcast_to(params.v, result.value.shape)


class TransposedAdjoint(dv.VectorDEQ):
    """Solves (I − SW)a = v instead of (I − SW)ᵀa = v."""

    def adjoint(self, params, result):
        jacobians = np.eye(self.width) - result.slope[:, :, None] * params.W
        return np.linalg.solve(jacobians, np.broadcast_to(params.v, result.value.shape)[..., None])[..., 0]


class OptimisticBound(dv.VectorDEQ):
    """Picard stopped at ‖F‖ ≤ 10⁻⁶ that reports the residual itself as the error bound
    (forgets the 1/(1 − ‖W‖₂L) factor)."""

    def __init__(self, width, activation, **kwargs):
        super().__init__(width, activation, "picard", dv.PicardSettings(rtol=0.0, atol=1e-6), **kwargs)

    def solve_offsets(self, params, offsets):
        result = super().solve_offsets(params, offsets)
        return dataclasses.replace(result, error_bound=result.error_bound * (1 - self.contraction(params)))


class ReadoutOffByOnePpm(dv.VectorDEQ):
    """∇_v scaled by 1 + 10⁻⁶ (a non-symmetric error the identities must see)."""

    def squared_error_sums(self, theta, X, targets, *, with_gradient=True):
        loss, gradient, summary = super().squared_error_sums(theta, X, targets,
                                                             with_gradient=with_gradient)
        if gradient is None:
            return loss, gradient, summary
        gradient = gradient.copy()
        gradient[-self.width:] *= 1 + 1e-6
        return loss, gradient, summary
