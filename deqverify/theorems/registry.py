"""REGISTRY: every statement object keyed by its stable id (T3.1, LIN-ORTH, VEC-CONS, …)."""

import difflib

from deqverify.core.errors import UnknownIdError
from deqverify.theorems.backward import BACKWARD_THEOREMS
from deqverify.theorems.base import Theorem
from deqverify.theorems.fixed_point import FIXED_POINT_THEOREMS
from deqverify.theorems.linear import LINEAR_THEOREMS
from deqverify.theorems.single_index import SINGLE_INDEX_THEOREMS
from deqverify.theorems.vector import VECTOR_THEOREMS
from deqverify.theorems.wellposed import WELL_POSED_THEOREMS

class Registry(dict):
    """A dict of statements whose missing keys raise :class:`UnknownIdError` naming the
    closest ids (``REGISTRY['t3.1']`` → did you mean 'T3.1'?)."""

    def __missing__(self, key):
        by_upper = {k.upper(): k for k in self}
        upper = str(key).upper()
        close = [upper] if upper in by_upper else difflib.get_close_matches(upper, list(by_upper), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(repr(by_upper[c]) for c in close)}?" if close else ""
        raise UnknownIdError(f"unknown statement id {key!r}{hint} (`deqverify theorems` lists them)")


REGISTRY: dict[str, Theorem] = Registry({
    theorem.id: theorem
    for theorem in (*FIXED_POINT_THEOREMS, *LINEAR_THEOREMS, *SINGLE_INDEX_THEOREMS,
                    *VECTOR_THEOREMS, *WELL_POSED_THEOREMS, *BACKWARD_THEOREMS)
})
