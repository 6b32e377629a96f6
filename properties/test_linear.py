"""Linear-DEQ theorems: LIN-ORTH, T3.1, GD-RADIUS, SPHERE-ID, L3.2, PL, T3.4, T3.3, PHI-FLOW,
T3.6, NEUMANN — population and empirical risks alike."""

from deqverify.theorems.checking import theorem_property

test_LIN_ORTH = theorem_property("LIN-ORTH")
test_T3_1 = theorem_property("T3.1")
test_GD_RADIUS = theorem_property("GD-RADIUS")
test_SPHERE_ID = theorem_property("SPHERE-ID")
test_L3_2 = theorem_property("L3.2")
test_PL = theorem_property("PL")
test_T3_4 = theorem_property("T3.4")
test_T3_3 = theorem_property("T3.3")
test_PHI_FLOW = theorem_property("PHI-FLOW")
test_T3_6 = theorem_property("T3.6")
test_NEUMANN = theorem_property("NEUMANN")


# Ablation expected to survive (docs/theorems.md): with a rank-deficient Σ the algebraic
# statements still hold. These draw the same problems with Σ rank-deficient.
from deqverify.theorems.checking import assert_holds, cell_property, examples_for  # noqa: E402
from deqverify.theorems.strategies import FAMILIES  # noqa: E402


def _rank_deficient(theorem_id):
    def run(problem):
        assert problem.risk.second_moment.shape[0] >= 2
        assert_holds(theorem_id, problem)

    kind = "pointwise" if theorem_id == "LIN-ORTH" else "trajectory"
    return cell_property(run, theorem_id, "A-data", FAMILIES["linear"](theorem_id, "A-data"),
                         examples_for(kind), label="rank-deficient")


test_LIN_ORTH_rank_deficient_sigma = _rank_deficient("LIN-ORTH")
test_T3_1_rank_deficient_sigma = _rank_deficient("T3.1")
test_GD_RADIUS_rank_deficient_sigma = _rank_deficient("GD-RADIUS")
