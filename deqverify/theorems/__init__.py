"""The theorem catalogue: one object per statement of docs/theorems.md, keyed by its stable id.

>>> from deqverify.theorems import REGISTRY
>>> REGISTRY["T3.1"].statement
'along gradient flow, C(θ(t)) = ‖θ₁‖² + (θ₂−1)² stays equal to C(θ(0))'
"""

from deqverify.theorems.base import Problem, Theorem, Verdict, one_sided
from deqverify.theorems.linear import linear_constants, neumann_gradient, t33_limit
from deqverify.theorems.registry import REGISTRY
from deqverify.theorems.single_index import rsi_constants

__all__ = ["REGISTRY", "Problem", "Theorem", "Verdict", "linear_constants", "neumann_gradient",
           "one_sided", "rsi_constants", "t33_limit"]
