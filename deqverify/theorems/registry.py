"""REGISTRY: every statement object keyed by its stable id (T3.1, LIN-ORTH, VEC-CONS, …)."""

from deqverify.theorems.base import Theorem
from deqverify.theorems.fixed_point import FIXED_POINT_THEOREMS
from deqverify.theorems.linear import LINEAR_THEOREMS
from deqverify.theorems.single_index import SINGLE_INDEX_THEOREMS
from deqverify.theorems.vector import VECTOR_THEOREMS

REGISTRY: dict[str, Theorem] = {
    theorem.id: theorem
    for theorem in (*FIXED_POINT_THEOREMS, *LINEAR_THEOREMS, *SINGLE_INDEX_THEOREMS,
                    *VECTOR_THEOREMS)
}
