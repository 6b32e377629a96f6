"""Single-index theorems: SI-IDENT, SI-HESS, SI-RSI, T3.8, T3.9."""

from deqverify.theorems.checking import theorem_property

test_SI_IDENT = theorem_property("SI-IDENT")
test_SI_HESS = theorem_property("SI-HESS")
test_SI_RSI = theorem_property("SI-RSI")
test_T3_8 = theorem_property("T3.8")
test_T3_9 = theorem_property("T3.9")
