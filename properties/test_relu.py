"""The ReLU DEQ (RELU): closed form relu(φᵀx), LIN-ORTH and GD-RADIUS exactly."""

from deqverify.theorems.checking import theorem_property

test_RELU = theorem_property("RELU")
