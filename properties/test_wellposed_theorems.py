"""Well-posedness beyond contraction (MON-WP, MON-LIP, LINF-WP) and the exact statements behind
approximate backward passes (BWD-PHANTOM, BWD-JFB), over generated problems: monotone W built
from (A, B, m), ℓ∞ W with μ∞ set by a diagonal shift, contractive W for the backward statements
(docs/theorems.md). Their ablations run with the others (properties/test_ablations.py).

REF-MON-ROOTS pins the roots those statements compare: each within its stated bound of an
mpmath root, whether σ has a proximal form or not."""

import numpy as np
from hypothesis import event, given, settings, target
from hypothesis import strategies as st

from deqverify import reference as ref
from deqverify.core.splitting import monotone_roots
from deqverify.reference import vector_twin
from deqverify.theorems.checking import examples_for, theorem_property
from deqverify.theorems.wellposed import batch
from deqverify.theorems.wellposed_strategies import wellposed_problem

EPS = np.finfo(float).eps

test_MON_WP = theorem_property("MON-WP")
test_MON_LIP = theorem_property("MON-LIP")
test_LINF_WP = theorem_property("LINF-WP")
test_BWD_PHANTOM = theorem_property("BWD-PHANTOM")
test_BWD_JFB = theorem_property("BWD-JFB")


@settings(max_examples=examples_for("pointwise"), deadline=None)
@given(st.sampled_from([None, "A-prox"]).flatmap(lambda violate: wellposed_problem("MON-LIP", violate)))
def test_REF_MON_ROOTS_each_root_lies_within_its_stated_bound_of_the_mpmath_root(problem):
    """REF-MON-ROOTS: the roots MON-LIP compares, against mpmath roots at 30 digits. With a
    proximal σ (forward–backward) the bound is certified; with any other σ (2·tanh: A-prox
    dropped) the model's solver answers with the first-order bound ‖F(z)‖·‖(I − SW)⁻¹‖₂. A
    NaN bound marks a row the solver did not converge on."""
    params, offsets = batch(problem)
    roots, bounds = monotone_roots(problem.model, params, offsets)
    activation = problem.model.activation
    event(f"REF-MON-ROOTS: {activation.name}")
    worst = 0.0
    with ref.working_precision(30):
        for x, z, bound in zip(problem.X, roots, bounds):
            if np.isnan(bound):
                continue
            exact = vector_twin.fixed_point(params.W, params.U, params.b, x, activation,
                                            start=[ref.to_mp(v) for v in z])
            error = max(abs(float(exact[i]) - z[i]) for i in range(z.size))
            # F(z) = z − σ(Wz + p) evaluated in float64 is off by a few ulps of its terms, and
            # ‖(I − SW)⁻¹‖₂ carries that to z: 16 eps of the largest term, times that norm
            jacobian = np.eye(z.size) - activation.df(params.W @ z + params.U @ x + params.b)[:, None] * params.W
            scale = 1.0 + np.max(np.abs(z)) + activation.lipschitz * np.max(np.abs(params.W @ z + params.U @ x + params.b))
            rounding = 16 * EPS * scale / np.linalg.svd(jacobian, compute_uv=False)[-1]
            assert error <= bound * (1 + 1e-6) + rounding, (error, bound, rounding)
            worst = max(worst, error / (bound + rounding))
    target(worst, label="REF-MON-ROOTS error / allowance")
