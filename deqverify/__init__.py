"""deqverify: executable checks of the theory of deep equilibrium models.

Source: "Gradient flow for deep equilibrium single-index models" (arXiv 2511.16976).
"""

from .activations import Activation, get_activation
from .errors import (ConvergenceError, DEQError, IllPosedError, InvalidInputError,
                     NoFixedPointError, NonContractiveError, NonFiniteInputError,
                     SingularDEQError, UncheckableError)
from .data import GaussianPopulation, UniformPopulation
from .dynamics import RunStatus, Trajectory, gradient_descent, gradient_flow
from .models import DEQModel, LinearDEQ, SingleIndexDEQ
from .population import PopulationRisk
from .risk import EmpiricalRisk
from .solve import (AndersonSettings, FixedPointResult, NewtonSettings, PicardSettings,
                    Status)
from . import theorems  # noqa: E402 - dv.theorems.REGISTRY without a separate import

__version__ = "0.1.0"

__all__ = [
    "Activation", "AndersonSettings", "ConvergenceError", "DEQError", "DEQModel",
    "EmpiricalRisk", "FixedPointResult", "GaussianPopulation", "PopulationRisk", "RunStatus",
    "Trajectory", "UniformPopulation", "gradient_descent", "gradient_flow", "IllPosedError", "InvalidInputError", "LinearDEQ",
    "NewtonSettings", "NoFixedPointError", "NonContractiveError", "NonFiniteInputError",
    "PicardSettings", "SingleIndexDEQ", "SingularDEQError", "Status", "UncheckableError", "get_activation",
    "theorems", "__version__",
]
