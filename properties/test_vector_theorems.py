"""Vector-DEQ statements VEC-* over generated problems (k from 1 to 8, empirical and
population risks, with and without bias). VEC-INVERTIBLE is an open question: it is fuzzed
(``deqverify fuzz --theorem VEC-INVERTIBLE``), not asserted here."""

from deqverify.theorems.checking import theorem_property

test_VEC_REDUCE = theorem_property("VEC-REDUCE")
test_VEC_FP_1 = theorem_property("VEC-FP-1")
test_VEC_FP_2 = theorem_property("VEC-FP-2")
test_VEC_FP_3 = theorem_property("VEC-FP-3")
test_VEC_ORTH = theorem_property("VEC-ORTH")
test_VEC_CONS = theorem_property("VEC-CONS")
test_VEC_RADIUS = theorem_property("VEC-RADIUS")
test_VEC_SCALE = theorem_property("VEC-SCALE")
test_VEC_BAL = theorem_property("VEC-BAL")

# The symmetries do not involve Σ: with a rank-deficient Σ the identities and conservation
# laws must still hold (an ablation expected to survive, asserted like the statements).
test_VEC_ORTH_rank_deficient = theorem_property("VEC-ORTH", "A-data")
test_VEC_CONS_rank_deficient = theorem_property("VEC-CONS", "A-data")
test_VEC_RADIUS_rank_deficient = theorem_property("VEC-RADIUS", "A-data")
test_VEC_SCALE_rank_deficient = theorem_property("VEC-SCALE", "A-data")
