"""The readable catalogue: every statement of the registry with its assumptions (the names
``deqverify fuzz --drop`` accepts), the REF-* differential properties and the conformance
check ids. ``docs/theorems.md`` is generated from here (``deqverify theorems --markdown``)
and a test keeps it current.
"""

from __future__ import annotations

ASSUMPTIONS = {
    "A-act": "σ is smooth and nondecreasing, with L = sup σ' and a slope floor γ = min σ' > 0 "
             "on the pre-activations the data reach",
    "A-contract": "the fixed point is well posed: θ₂·L < 1 for a nondecreasing σ "
                  "(|θ₂|·L < 1 otherwise; θ₂ < 1 for ReLU); vector DEQs: ‖W‖₂·L < 1",
    "A-data": "Σ = E[XXᵀ] is positive definite (λ_min > 0); for an empirical risk Σ = XᵀX/n "
              "(the VEC-* identities do not need it: their rank-deficient ablation must hold)",
    "A-free-readout": "the readout v is trained with the rest (not frozen)",
    "A-homogeneous": "σ is positively homogeneous, σ(cu) = cσ(u) for c > 0: ReLU or the identity",
    "A-invertible": "the linear vector DEQ is defined: I − W is invertible (at the start)",
    "A-linear": "σ is the identity (the linear vector DEQ z = (I − W)⁻¹(Ux + b))",
    "A-reduce": "k = 1 with b = 0 and v = 1, both frozen: the vector DEQ is the scalar one",
    "A-init": "the start lies in the ball around θ* = (ξ, 0) on which the restricted secant "
              "inequality holds",
    "A-nonlin": "M = E[(X, σ(ξᵀX))(X, σ(ξᵀX))ᵀ] is positive definite: the teacher's output "
                "is not a linear function of X",
    "A-theta2": "the linear DEQ is defined: θ₂ ≠ 1 (at the start; L3.2 keeps the flow away)",
    "A-monotone": "the symmetric part of I − W is ⪰ mI with m > 0 (W = (1−m)I − AᵀA + B − Bᵀ)",
    "A-splitting-step": "the forward–backward step is 0 < α < 2m/‖I − W‖₂²",
    "A-prox": "σ is a proximal map: nondecreasing and 1-Lipschitz (sigmoid and softplus too; "
              "MON-WP's splitting needs prox_{αφ} in closed form, which it has for ReLU, tanh and "
              "the identity, and refuses the others)",
    "A-mu-inf": "the ℓ∞ log-norm μ∞(W) = maxᵢ(wᵢᵢ + Σ_{j≠i}|wᵢⱼ|) is < 1",
    "A-slopes": "σ acts entrywise with slopes in [0, 1]",
    "A-damping": "the phantom gradient's damping is 0 < τ ≤ 1",
    "step-size": "the GD step is small enough: η ≤ η₀ = 1/ℓ (T3.6) or η ≤ λ₁/(2λ₂) (T3.9)",
}

REFERENCE_PROPERTIES = {
    "REF-FP": "fixed points and per-sample statuses under any Newton settings, offsets up to "
              "±1e307, and under Picard and Anderson at loose tolerances, against per-sample "
              "bracketed roots",
    "REF-BATCH": "a batch equals its rows solved alone, bitwise; an overflowing sample is "
                 "flagged alone, in any solver chunk",
    "REF-JAC": "the IFT output Jacobian against bracketed roots",
    "REF-EMP": "empirical risk value and gradient for any block size; a failed sample in any "
               "block makes the risk raise",
    "REF-POP-LIN": "linear population risk (Gaussian and uniform laws) against mpmath",
    "REF-POP-SI": "single-index population risk (Gaussian and uniform laws) against adaptive "
                  "quadrature in the data coordinates",
    "REF-POP-VEC": "linear vector population risk against R = (p − ξ)ᵀΣ(p − ξ) + c² with p, c read "
                   "off the forward solver; its gradient against Richardson differences",
    "REF-GD": "gradient-descent iterates against steps of the reference gradient",
    "REF-GF": "gradient-flow paths against an independent integration (Radau on the "
              "reference gradient)",
    "REF-EDGE": "descent that reaches θ₂L ≥ 1 ends there with status ILL_POSED",
    "REF-ACT": "σ, σ', σ'' of every built-in activation (vector, fused, scalar) against mpmath",
}


VECTOR_DERIVATIONS = """\
Model: per sample z = σ(Wz + Ux + b) ∈ ℝᵏ, ŷ = vᵀz; A = I − W. Each identity is the derivative,
at the identity element, of a group action that leaves every output ŷ(x) — hence every risk
built from outputs, empirical or population — unchanged.

* **VEC-ORTH** (σ linear). z = A⁻¹(Ux + b) is unchanged by (A, U, b) → (GA, GU, Gb) for any
  invertible G. Put G = I + εE: W moves by −εEA, U by εEU, b by εEb, and the first-order change
  of R, tr(Eᵀ(−∇_W R·Aᵀ + ∇_U R·Uᵀ + ∇_b R·bᵀ)), vanishes for every E:
  ∇_W R·Aᵀ = ∇_U R·Uᵀ + ∇_b R·bᵀ. Worth knowing when testing an implementation: with the
  gradient written as Σᵢ wᵢ(zᵢ, xᵢ, 1)ᵀ for adjoint vectors wᵢ, the defect is
  Σᵢ wᵢ(Azᵢ − Uxᵢ − b)ᵀ, which is zero for *any* wᵢ once the forward pass is right — so this
  identity checks the forward equation and the outer-product structure, not the backward
  solve (a Jacobian-free backward passes it; VEC-SCALE and VEC-FP-2 catch it).
* **VEC-CONS** (σ linear, gradient flow Ẇ = −∇_W R, …). With M = ∇_W R·Aᵀ, Ȧ = ∇_W R gives
  d(AAᵀ)/dt = M + Mᵀ, while d(UUᵀ + bbᵀ)/dt = −(N + Nᵀ) with N = ∇_U R·Uᵀ + ∇_b R·bᵀ = M.
  So Q = AAᵀ + UUᵀ + bbᵀ is constant; for k = 1 this is C(θ) of T3.1.
* **VEC-RADIUS** (σ linear, gradient descent). Expanding Aₖ₊₁ = Aₖ + ηG_W, Uₖ₊₁ = Uₖ − ηG_U,
  bₖ₊₁ = bₖ − ηg_b, the terms linear in η are η(M + Mᵀ − N − Nᵀ) = 0, leaving exactly
  Qₖ₊₁ = Qₖ + η²(G_W G_Wᵀ + G_U G_Uᵀ + g_b g_bᵀ): Q only grows, by a computable amount.
* **VEC-SCALE** (σ linear). (v, A) → (αv, αA) scales z by 1/α and v by α: ŷ is unchanged, so
  d/dα at α = 1 gives ⟨∇_v R, v⟩ = ⟨∇_W R, A⟩ (W = I − αA moves by −A). Along gradient flow
  d(‖v‖² + ‖A‖_F²)/dt = −2⟨v, ∇_v R⟩ + 2⟨A, ∇_W R⟩ = 0; under descent the quantity grows by
  exactly η²(‖G_v‖² + ‖G_W‖_F²). A frozen readout breaks it (v cannot follow the scaling).
* **VEC-BAL** (σ positively homogeneous: ReLU or linear). For a positive diagonal D,
  relu(Du) = D·relu(u), so (W, U, b, v) → (DWD⁻¹, DU, Db, D⁻¹v) maps z to Dz and leaves
  ŷ = vᵀz unchanged. With D = I + εdiag(e), the coefficient of eᵢ gives, per neuron i,
  (∇_W R·Wᵀ − Wᵀ·∇_W R)ᵢᵢ + (∇_U R·Uᵀ)ᵢᵢ + (∇_b R)ᵢbᵢ − (∇_v R)ᵢvᵢ = 0, and along gradient
  flow ‖W_{i,:}‖² − ‖W_{:,i}‖² + ‖U_{i,:}‖² + bᵢ² − vᵢ² is constant. Smooth σ has neither
  symmetry: the ablations A-linear / A-homogeneous must show violations (negative controls).
* **VEC-REDUCE**. k = 1, v = 1, b = 0 frozen: z = σ(Wz + Ux) is the scalar single-index DEQ with
  θ₁ = U, θ₂ = W, and every quantity must agree with the scalar core to rounding.
* **VEC-FP-1, VEC-FP-2**. With q = ‖W‖₂L < 1, z ↦ σ(Wz + Ux + b) is a q-contraction in the
  2-norm (σ acts entrywise with slope ≤ L), so the root is unique and ‖z − z*‖ ≤ ‖F(z)‖/(1 − q)
  for F(z) = z − σ(Wz + Ux + b). I − SW (S = diag σ') is then invertible, and differentiating
  z = σ(Wz + Ux + b) gives dz = (I − SW)⁻¹S(dW z + dU x + db); contracting with ∂ℓ/∂z yields the
  adjoint system (I − SW)ᵀw = ∂ℓ/∂z and ∇_W = (Sw)zᵀ, ∇_U = (Sw)xᵀ, ∇_b = Sw.
* **VEC-INVERTIBLE** (open). For k = 1, L3.2 keeps |1 − θ₂| ≥ β > 0 along the flow. Whether
  σ_min(I − W(t)) stays bounded away from 0 for k > 1 is not known; the fuzz campaign drives the
  ratio min_t σ_min(I − W(t)) / σ_min(I − W(0)) down with Hypothesis' target().
"""


WELL_POSED_DERIVATIONS = """\
Model: z = σ(Wz + Ux + b) where ‖W‖₂ may exceed 1, so plain iteration need not converge and
VEC-FP-1 says nothing. Two other structures still give one root and a solver that provably
reaches it (`deqverify/core/splitting.py`, which also certifies each answer a posteriori:
for a c-contraction T, ‖z − z*‖ ≤ (‖T(z) − z‖ + 2δ)/(1 − c), δ the rounding of one step).

* **MON-WP.** Write F(z) = (I − W)z − p (p = Ux + b). Its symmetric part is mI + AᵀA ⪰ mI when
  W = (1 − m)I − AᵀA + B − Bᵀ, so ⟨F(z) − F(z′), z − z′⟩ ≥ m‖z − z′‖²: F is m-strongly
  monotone, and L = ‖I − W‖₂-Lipschitz. A nondecreasing 1-Lipschitz σ is the proximal map of a
  convex φ (ReLU: the indicator of z ≥ 0; tanh: φ′(w) = artanh(w) − w; the identity: φ = 0), and
  z = prox_φ(Wz + p) is the optimality condition of 0 ∈ F(z) + ∂φ(z). A strongly monotone
  operator plus a maximal monotone one has exactly one zero. One forward–backward step
  T(z) = prox_{αφ}(z − αF(z)) is nonexpansive in its prox, and
  ‖(z − z′) − α(F(z) − F(z′))‖² = ‖Δ‖² − 2α⟨Δ, (I − W)Δ⟩ + α²‖(I − W)Δ‖²
  ≤ (1 − 2αm + α²L²)‖Δ‖², which is < ‖Δ‖² exactly for 0 < α < 2m/L². The fixed points of T are
  the zeros of F + ∂φ for every α > 0, hence the DEQ's root. The check iterates T from 0 and
  from a far start, verifies every step ratio against the factor (plus 2δ), that both runs
  meet within their certified bounds, and that the limit solves z = σ(Wz + p) to
  (1 + L‖W‖₂)β + δ (σ is L-Lipschitz). It also checks the map on pairs from different runs,
  ‖T(z) − T(z′)‖ ≤ c‖z − z′‖ + δ(z) + δ(z′), not only along one trajectory.
  Note that the prox of αφ is σ only for ReLU and the identity: for tanh it solves
  (1 − α)w + α·artanh(w) = v, and using σ itself there would move the fixed point with α.
* **MON-LIP.** Subtract the optimality conditions at x and x′, pair with Δ = z*(x) − z*(x′),
  and drop the ∂φ terms (monotone, so their pairing is ≥ 0):
  m‖Δ‖² ≤ ⟨Δ, (I − W)Δ⟩ ≤ ⟨Δ, U(x − x′)⟩ ≤ ‖U‖₂‖x − x′‖‖Δ‖, so ‖Δ‖ ≤ (‖U‖₂/m)‖x − x′‖. With
  σ the identity, W = (1 − m)I and x − x′ along U's top singular vector this is an equality
  (tests/test_check_sensitivity.py), so no slack hides in the check. Without A-monotone
  (m ≤ 0) there is no constant: the ablation records that the claim cannot be made.
* **LINF-WP.** Let D = diag of σ's slopes (in [0, 1]) along a segment. The averaged map
  T(z) = (1 − α)z + ασ(Wz + p) has Jacobian (1 − α)I + αDW, whose i-th absolute row sum is
  |1 − α + αdᵢwᵢᵢ| + αdᵢΣ_{j≠i}|wᵢⱼ|. With α = 1/(1 − min(minᵢ wᵢᵢ, 0)) the first term is ≥ 0,
  so the sum is 1 − α + αdᵢ(wᵢᵢ + Σ_{j≠i}|wᵢⱼ|) ≤ 1 − α(1 − μ⁺) with μ = μ∞(W) the ℓ∞
  log-norm (allowed to be negative, and ‖W‖∞ may exceed 1). For μ < 1 this is a contraction in
  ℓ∞: one root, and comparing two inputs, ‖Δz*‖∞ ≤ α‖Δp‖∞/(α(1 − μ⁺)) = ‖Δp‖∞/(1 − μ⁺) with
  ‖Δp‖∞ ≤ ‖U‖∞‖Δx‖∞. A diagonal W = wI with σ the identity attains it.
* **JFB-NONLINEAR** (refuted). For one row the Jacobian-free direction is a descent direction:
  with u = (I − WᵀD)⁻¹g and y = Du, ⟨Dgxᵀ, Duxᵀ⟩ = ‖x‖²(‖y‖² − yᵀWDy) ≥ (1 − ‖W‖₂L)‖x‖²‖y‖².
  For a batch the cross terms Σ_{i≠j}(xᵢ·xⱼ)gᵢᵀDᵢDⱼuⱼ have no sign once the Dᵢ differ: with
  parallel inputs and cotangents that nearly cancel, Σᵢ cᵢDᵢgᵢ is small while Σᵢ cᵢDᵢuᵢ is not,
  and the inner product can take either sign. The directed search finds cosine −1 with
  ‖W‖₂ = 0.9 and two rows (docs/findings.md); for σ linear (all Dᵢ = I) BWD-JFB rules it out.
"""


LAYER_ORACLES = """\
For any layer z* = f(z*, x; θ), let J = ∂f/∂z at z* and let g = ∂ℓ/∂z*. The exact (implicit)
gradient is gᵀ(I − J)⁻¹∂f/∂θ. A backward that is approximate *by design* is held to its own
exact formula, never to this one (`layer-backward`).

* **BWD-PHANTOM** (k-step damped phantom gradient, τ ∈ (0, 1]). The backward iterates
  B = τJ + (1 − τ)I and uses τΣ_{i<k}Bⁱ in place of (I − J)⁻¹. Since I − B = τ(I − J), the
  geometric sum is τ(I − B)⁻¹(I − Bᵏ) = (I − J)⁻¹(I − Bᵏ), which is exact. So the declared
  approximation is predictable to rounding. If ‖J‖₂ ≤ γ < 1, then ‖B‖₂ ≤ 1 − τ + τγ and the
  gap to the exact inverse is ‖(I − J)⁻¹Bᵏ‖₂ ≤ (1 − τ + τγ)ᵏ/(1 − γ). k = ∞ is the implicit
  gradient. k = 1, τ = 1 is the Jacobian-free gradient gᵀ∂f/∂θ. For the scalar linear DEQ with
  τ = 1 the factor is NEUMANN's 1 − θ₂ᵐ.
* **BWD-JFB** (linear layer z = Wz + Ux + b, ‖W‖₂ < 1). The Jacobian-free gradient of U is
  Γ = Σᵢ gᵢxᵢᵀ. The exact one is Y = (I − W)⁻ᵀΓ, so Γ = (I − W)ᵀY and
  ⟨Γ, Y⟩ = tr(Yᵀ(I − W)Y) ≥ (1 − ‖W‖₂)‖Y‖_F² > 0. Γ is therefore a descent direction, for any
  loss. For nonlinear layers and a batch this fails (JFB-NONLINEAR, refuted above). So a layer
  that declares `jfb` is held to the exact Jacobian-free formula gᵀ∂f/∂θ (phantom(1, 1)), and
  the cosine with the exact gradient is reported, never required: a correct JFB backward may
  point uphill on some batch.

Properties (`properties/test_layer_oracles.py`): the reference's phantom adjoint against the
closed form with its truncation bound (LAYER-PHANTOM), the JFB margin (LAYER-JFB), and the
reference solve and adjoint against the closed forms of linear layers (LAYER-REF). Each is seen
failing on a planted bug in `deqverify/conformance/layer_reference.py` (J for Jᵀ, k − 1 steps, an
untransposed adjoint, a dropped τ).
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _registry():
    from deqverify.theorems import REGISTRY

    return REGISTRY


def rows():
    """(id, kind, family, assumptions, statement) for every registered theorem."""
    return [(t.id, "open question" if t.open_question else t.kind, t.family, ", ".join(t.assumptions) or "—", t.statement)
            for t in _registry().values()]


def text() -> str:
    """The plain-text listing of ``deqverify theorems``."""
    lines = [f"{'id':10s} {'kind':10s} {'family':12s} {'assumptions (--drop)':44s} statement"]
    lines += [f"{i:10s} {k:10s} {f:12s} {a:44s} {s}" for i, k, f, a, s in rows()]
    lines.append("\nassumptions:")
    lines += [f"  {name:11s} {meaning}" for name, meaning in ASSUMPTIONS.items()]
    lines.append("\ndifferential properties (tox -e properties):")
    lines += [f"  {name:11s} {meaning}" for name, meaning in REFERENCE_PROPERTIES.items()]
    return "\n".join(lines)


def markdown() -> str:
    """docs/theorems.md."""
    from deqverify.conformance.checks import CHECKS

    out = ["# Theorem catalogue", "",
           "Generated from the registry by `deqverify theorems --markdown`; "
           "`tests/test_catalogue.py` fails when this file is stale. Ids are stable: they "
           "name the properties, the verdicts of `deqverify verify`, the `--theorem` and "
           "`--drop` values of `deqverify fuzz`, and the checks of the conformance battery.",
           "", "## Statements", "",
           "| id | kind | family | assumptions | statement |", "|---|---|---|---|---|"]
    out += [f"| {i} | {k} | {f} | {a} | {_cell(s)} |" for i, k, f, a, s in rows()]
    out += ["", "A statement with several claims is checked clause by clause; its verdict names "
            "the margin of each, and each clause has a planted violation that must flip it "
            "(`tests/test_check_clauses.py`):", "",
            "| id | clauses |", "|---|---|"]
    out += [f"| {theorem.id} | {', '.join(theorem.clauses)} |" for theorem in _registry().values()
            if len(theorem.clauses) > 1]
    out += ["", "## Assumptions (the names `--drop` accepts)", "",
            "| name | meaning |", "|---|---|"]
    out += [f"| {name} | {_cell(meaning)} |" for name, meaning in ASSUMPTIONS.items()]
    out += ["", "## Vector DEQs: where the VEC-* statements come from", "", VECTOR_DERIVATIONS.rstrip()]
    out += ["", "## Monotone and ℓ∞ well-posed DEQs, and JFB beyond linear layers", "",
            WELL_POSED_DERIVATIONS.rstrip()]
    out += ["", "## The layer battery's oracles", "", LAYER_ORACLES.rstrip()]
    out += ["", "## Differential properties", "",
            "The statements above are structural (a wrong but self-consistent value can satisfy "
            "them); these properties pin values against independent computations "
            "(`properties/test_reference_values.py`).", "",
            "| id | compares |", "|---|---|"]
    out += [f"| {name} | {_cell(meaning)} |" for name, meaning in REFERENCE_PROPERTIES.items()]
    out += ["", "## Conformance checks (`deqverify check --list`)", "",
            "| id | cites |", "|---|---|"]
    out += [f"| {check.id} | {check.cites} |" for check in CHECKS.values()]
    return "\n".join(out) + "\n"
