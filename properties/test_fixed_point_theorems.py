"""FP-1, FP-2, FP-3 through the theorem catalogue (the implementation under test is the
built-in solver); see test_fixed_point.py for the direct solver-level properties."""

from deqverify.theorems.checking import theorem_property

test_FP_1 = theorem_property("FP-1")
test_FP_2 = theorem_property("FP-2")
test_FP_3 = theorem_property("FP-3")
