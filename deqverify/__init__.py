"""deqverify: executable checks of the theory of deep equilibrium models.

Source: "Gradient flow for deep equilibrium single-index models" (arXiv 2511.16976).
"""

from .activations import Activation, get_activation
from .errors import (ConvergenceError, DEQError, IllPosedError, InvalidInputError,
                     NoFixedPointError, NonContractiveError, NonFiniteInputError,
                     SingularDEQError)
from .models import DEQModel, LinearDEQ, SingleIndexDEQ
from .risk import EmpiricalRisk
from .solve import (AndersonSettings, FixedPointResult, NewtonSettings, PicardSettings,
                    Status)

__version__ = "0.1.0"

__all__ = [
    "Activation", "AndersonSettings", "ConvergenceError", "DEQError", "DEQModel",
    "EmpiricalRisk", "FixedPointResult", "IllPosedError", "InvalidInputError", "LinearDEQ",
    "NewtonSettings", "NoFixedPointError", "NonContractiveError", "NonFiniteInputError",
    "PicardSettings", "SingleIndexDEQ", "SingularDEQError", "Status", "get_activation",
    "__version__",
]
