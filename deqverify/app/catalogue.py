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
    "step-size": "the GD step is small enough: η ≤ η₀ = 1/ℓ (T3.6) or η ≤ λ₁/(2λ₂) (T3.9)",
}

REFERENCE_PROPERTIES = {
    "REF-FP": "fixed points and per-sample statuses under any Newton settings, offsets up to "
              "±1e307, against per-sample bracketed roots",
    "REF-BATCH": "a batch equals its rows solved alone, bitwise; an overflowing sample is "
                 "flagged alone, in any solver chunk",
    "REF-JAC": "the IFT output Jacobian against bracketed roots",
    "REF-EMP": "empirical risk value and gradient for any block size; a failed sample in any "
               "block makes the risk raise",
    "REF-POP-LIN": "linear population risk (Gaussian and uniform laws) against mpmath",
    "REF-POP-SI": "single-index population risk (Gaussian and uniform laws) against adaptive "
                  "quadrature in the data coordinates",
    "REF-GD": "gradient-descent iterates against steps of the reference gradient",
    "REF-GF": "gradient-flow paths against an independent integration (Radau on the "
              "reference gradient)",
    "REF-EDGE": "descent that reaches θ₂L ≥ 1 ends there with status ILL_POSED",
    "REF-ACT": "σ, σ', σ'' of every built-in activation (vector, fused, scalar) against mpmath",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def rows():
    """(id, kind, family, assumptions, statement) for every registered theorem."""
    from deqverify.theorems import REGISTRY

    return [(t.id, "open question" if t.open_question else t.kind, t.family, ", ".join(t.assumptions) or "—", t.statement)
            for t in REGISTRY.values()]


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
    out += ["", "## Assumptions (the names `--drop` accepts)", "",
            "| name | meaning |", "|---|---|"]
    out += [f"| {name} | {_cell(meaning)} |" for name, meaning in ASSUMPTIONS.items()]
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
