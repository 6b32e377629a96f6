"""Well-posedness beyond contraction (MON-WP, MON-LIP, LINF-WP) and the exact statements behind
approximate backward passes (BWD-PHANTOM, BWD-JFB), over generated problems: monotone W built
from (A, B, m), ℓ∞ W with μ∞ set by a diagonal shift, contractive W for the backward statements
(docs/theorems.md). Their ablations run with the others (properties/test_ablations.py)."""

from deqverify.theorems.checking import theorem_property

test_MON_WP = theorem_property("MON-WP")
test_MON_LIP = theorem_property("MON-LIP")
test_LINF_WP = theorem_property("LINF-WP")
test_BWD_PHANTOM = theorem_property("BWD-PHANTOM")
test_BWD_JFB = theorem_property("BWD-JFB")
