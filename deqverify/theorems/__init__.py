"""The theorem catalogue: one object per statement of docs/theorems.md, keyed by its stable id.

>>> from deqverify.theorems import REGISTRY
>>> REGISTRY["T3.1"].statement
'along gradient flow, C(θ(t)) = ‖θ₁‖² + (θ₂−1)² stays equal to C(θ(0))'
"""

from .base import Problem, Theorem, Verdict, one_sided
from .fixed_point import FIXED_POINT_THEOREMS
from .linear import LINEAR_THEOREMS, linear_constants, neumann_gradient, t33_limit
from .single_index import SINGLE_INDEX_THEOREMS, rsi_constants

REGISTRY: dict[str, Theorem] = {
    theorem.id: theorem
    for theorem in (*FIXED_POINT_THEOREMS, *LINEAR_THEOREMS, *SINGLE_INDEX_THEOREMS)
}

__all__ = ["REGISTRY", "Problem", "Theorem", "Verdict", "linear_constants", "neumann_gradient",
           "one_sided", "rsi_constants", "t33_limit"]
