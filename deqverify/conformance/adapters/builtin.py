"""The built-in solver, the strict reference of the conformance battery."""

from __future__ import annotations

from deqverify.conformance.protocol import Capabilities
from deqverify.core.models import LinearDEQ, SingleIndexDEQ
from deqverify.core.risk import EmpiricalRisk
from deqverify.core.vector_model import VectorDEQ
from deqverify.core.vector_params import VectorParams, split_flat


class BuiltinImplementation:
    name = "builtin"
    capabilities = Capabilities(dtypes=("float64", "float32"), reports_status=True,
                                raises_on_nonconvergence=False, vector=True,
                                vector_activations=("tanh", "sigmoid", "softplus", "relu", "identity"))

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

    # -- vector protocol ----------------------------------------------------------------
    @staticmethod
    def _vector(params, activation):
        values = VectorParams(params["W"], params["U"], params["b"], params["v"])
        return VectorDEQ(values.width, activation), values

    def fixed_point_vector_status(self, params, X, activation):
        model, values = self._vector(params, activation)
        result = model.fixed_point(values, X)
        return result.value, result.converged

    def fixed_point_vector(self, params, X, activation):
        return self.fixed_point_vector_status(params, X, activation)[0]

    def risk_gradient_vector(self, params, X, targets, activation):
        model, values = self._vector(params, activation)
        gradient = EmpiricalRisk(model, X, targets).gradient(values)
        return split_flat(gradient, values.width, values.dim)


def implementation():
    return BuiltinImplementation()
