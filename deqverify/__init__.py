"""deqverify: executable checks of the theory of deep equilibrium models.

Source: "Gradient flow for deep equilibrium single-index models" (arXiv 2511.16976).
"""

from deqverify import theorems  # noqa: E402 - dv.theorems.REGISTRY without a separate import
from deqverify.core.activations import Activation, get_activation
from deqverify.core.data import GaussianPopulation, UniformPopulation
from deqverify.core.dynamics import (
                     RunStatus,
                     Trajectory,
                     gradient_descent,
                     gradient_flow,
)
from deqverify.core.errors import (
                     ConvergenceError,
                     DEQError,
                     IllPosedError,
                     InvalidInputError,
                     NoFixedPointError,
                     NonContractiveError,
                     NonFiniteInputError,
                     SingularDEQError,
                     UncheckableError,
)
from deqverify.core.models import DEQModel, LinearDEQ, SingleIndexDEQ
from deqverify.core.population import PopulationRisk
from deqverify.core.risk import EmpiricalRisk
from deqverify.core.solve import (
                     AndersonSettings,
                     FixedPointResult,
                     NewtonSettings,
                     PicardSettings,
                     Status,
)
from deqverify.core.vector_model import VectorDEQ
from deqverify.core.vector_params import VectorParams

__version__ = "0.1.0"

__all__ = [
    "Activation", "AndersonSettings", "ConvergenceError", "DEQError", "DEQModel",
    "EmpiricalRisk", "FixedPointResult", "GaussianPopulation", "PopulationRisk", "RunStatus",
    "Trajectory", "UniformPopulation", "VectorDEQ", "VectorParams", "gradient_descent", "gradient_flow", "IllPosedError", "InvalidInputError", "LinearDEQ",
    "NewtonSettings", "NoFixedPointError", "NonContractiveError", "NonFiniteInputError",
    "PicardSettings", "SingleIndexDEQ", "SingularDEQError", "Status", "UncheckableError", "get_activation",
    "theorems", "__version__",
]
