"""The built-in solver, the strict reference of the conformance battery."""

from __future__ import annotations

from deqverify.conformance.protocol import Capabilities
from deqverify.core.models import LinearDEQ, SingleIndexDEQ
from deqverify.core.risk import EmpiricalRisk


class BuiltinImplementation:
    name = "builtin"
    capabilities = Capabilities(dtypes=("float64", "float32"), reports_status=True,
                                raises_on_nonconvergence=False)

    @staticmethod
    def _model(activation):
        return LinearDEQ() if activation == "identity" else SingleIndexDEQ(activation)

    def fixed_point_status(self, theta, X, activation):
        result = self._model(activation).fixed_point(theta, X)
        return result.value, result.converged

    def fixed_point(self, theta, X, activation):
        return self.fixed_point_status(theta, X, activation)[0]

    def risk_gradient(self, theta, X, targets, activation):
        return EmpiricalRisk(self._model(activation), X, targets).gradient(theta)


def implementation():
    return BuiltinImplementation()
