"""deqverify.certify: what it refuses, what a planted error in an enclosure step does, and
the error without the extra. The values are pinned by the CERT-* properties."""

import importlib.util
import subprocess
import sys

import numpy as np
import pytest

import deqverify as dv
from broken_risks import WrappedRisk

needs_flint = pytest.mark.skipif(importlib.util.find_spec("flint") is None,
                                 reason="python-flint is the [certify] extra (tox -e certify)")


def test_without_the_extra_the_import_says_how_to_install_it():
    code = ("import importlib.util as u; real = u.find_spec\n"
            "u.find_spec = lambda name, *a: None if name == 'flint' else real(name, *a)\n"
            "from deqverify.core.errors import MissingExtraError\n"
            "try:\n    import deqverify.certify\nexcept MissingExtraError as e:\n    print('typed:', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "typed:" in out and "pip install 'deqverify[certify]'" in out


@needs_flint
def test_what_cannot_be_certified_says_why():
    from deqverify import certify
    theta = np.array([1.0, 0.5])
    nan_row, fine = certify.fixed_point(theta, np.array([[np.nan], [1.0]]), "tanh")
    assert not nan_row.certified and "not finite" in nan_row.reason
    assert fine.certified and fine.low <= dv.SingleIndexDEQ("tanh").fixed_point(theta, [[1.0]]).value[0] <= fine.high
    # the same in a vector batch: the NaN row is uncertified, the others are certified
    params = dv.VectorParams(0.3 * np.eye(2), np.ones((2, 1)), np.zeros(2), np.ones(2))
    rows = certify.vector_fixed_point(params, np.array([[0.5], [np.nan], [1.0]]), "tanh")
    assert [all(e.certified for e in row) for row in rows] == [True, False, True]
    assert "not finite" in rows[1][0].reason
    # the repelling root 0 of y = tanh(3y − 1.5·0) approached from a point where g' = 0 nearby
    tangent = certify.fixed_point(np.array([1.0, 3.0]), np.array([[0.0]]), "tanh", answers=[0.5848])
    assert all(e.certified is False or e.low <= 0.9950 <= e.high for e in tangent)  # never a false one
    unfinished = certify.fixed_point(theta, np.array([[1.0]]), "tanh", answers=[np.inf])[0]
    assert not unfinished.certified and "not finite" in unfinished.reason
    with pytest.raises(dv.DEQError, match="no ball implementation"):
        certify.fixed_point(theta, np.array([[1.0]]), "sine")
    with pytest.raises(dv.DEQError, match="answers has 2 values"):
        certify.fixed_point(theta, np.array([[1.0]]), "tanh", answers=[0.1, 0.2])


@needs_flint
def test_a_wrong_answer_is_not_inside_the_proved_enclosure():
    """The enclosure proves where the root is; an answer 1e-6 off lies outside it."""
    from deqverify import certify
    theta, X = np.array([0.7, 0.6]), np.array([[1.3]])
    right = dv.SingleIndexDEQ("sigmoid").fixed_point(theta, X).value[0]
    enclosure = certify.fixed_point(theta, X, "sigmoid", answers=[right + 1e-6])[0]
    assert enclosure.certified and enclosure.contains(right) and not enclosure.contains(right + 1e-6)


@needs_flint
def test_a_slope_taken_at_the_centre_certifies_a_wrong_root_count(monkeypatch):
    """Planted enclosure error: g' evaluated at the centre of the box instead of over it (a
    point Newton step posing as an interval one). It 'proves' one root in [−1, 1] for
    y = tanh(2y), which has three — exactly what CERT-ROOTS compares against a sign-change
    count, so the property fails on it."""
    from deqverify import certify
    from deqverify.certify import scalar

    assert len(certify.enclose_roots(0.0, 2.0, "tanh").roots) == 3
    real = scalar.slope_bounds

    def at_centre(name, low, high):
        middle = scalar.down((low + high) / 2)
        return real(name, middle, middle)

    monkeypatch.setattr(scalar, "slope_bounds", at_centre)
    assert len(certify.enclose_roots(0.0, 2.0, "tanh").roots) != 3


@needs_flint
def test_vector_refusals_and_a_contraction_certified():
    from deqverify import certify
    rng = np.random.default_rng(3)
    W = rng.standard_normal((4, 4))
    params = dv.VectorParams(0.8 * W / np.linalg.norm(W, 2), rng.standard_normal((4, 2)), np.zeros(4), np.ones(4))
    X = rng.standard_normal((3, 2))
    boxes = certify.vector_fixed_point(params, X, "tanh")
    assert all(e.certified for box in boxes for e in box)
    far = certify.vector_fixed_point(params, X[:1], "tanh", answers=np.full((1, 4), np.nan))[0]
    assert not any(e.certified for e in far) and "not finite" in far[0].reason


class RootOff(dv.SingleIndexDEQ):
    """Returns y* + 1e-12·max(1, |y*|) as converged: 10× FP-1's 1e-13 allowance."""

    def fixed_point(self, theta, X, *, throw=False):
        result = super().fixed_point(theta, X, throw=throw)
        result.value = result.value + 1e-12 * np.maximum(1.0, np.abs(result.value))
        return result


@needs_flint
def test_the_ladder_decides_FP_1_by_proof():
    """With the extra, FP-1 is CERTIFIED on a correct model and a VIOLATION *with the
    enclosure* on a model whose roots are 1e-12 off (no mpmath rung needed for either)."""
    from deqverify.reference.ladder import Classification, classify
    from deqverify.theorems import Problem

    X = np.random.default_rng(3).standard_normal((12, 2)) * 2
    theta = np.array([0.8, -0.5, 3.0])
    good = classify("FP-1", Problem(dv.SingleIndexDEQ("sigmoid"), None, theta, X=X))
    assert good.classification is Classification.CERTIFIED and good.kind == "proof", good
    bad = classify("FP-1", Problem(RootOff("sigmoid"), None, theta, X=X))
    assert bad.classification is Classification.VIOLATION and "certified enclosure" in bad.details, bad


@needs_flint
@pytest.mark.parametrize("theta2, offset", [(-1e15, 1.0), (-1.3e238, 35.2), (-1e300, -3.0), (0.5, 0.0)])
def test_relu_is_certified_by_cases_next_to_its_kink(theta2, offset):
    """At θ₂ = −1e238 the root sits 1e-238 (relative) from the kink u = 0, far below what a
    Newton box around a float64 answer can resolve (178 of 5307 random ReLU samples were
    refused that way); by cases on the sign of a it is exact."""
    from deqverify import certify
    enclosure = certify.fixed_point(np.array([1.0, theta2]), np.array([[offset]]), "relu")[0]
    expected = max(offset, 0.0) / (1.0 - theta2)
    assert enclosure.certified and enclosure.stable
    assert enclosure.low <= expected <= enclosure.high and enclosure.radius <= 4e-16 * expected + 5e-324


@needs_flint
def test_review_findings_stay_fixed():
    """A reviewer's findings (2026-12-02): a search box computed in float64 that ended below the
    root (complete=True with no root), the identity's stability class at θ₂ ≤ −1, NaN input
    that made the root search run for ever, minutes near a tangency, untyped exceptions."""
    import time

    from deqverify import certify
    found = certify.enclose_roots(1e20, 1e-17, "relu")
    assert found.complete and len(found.roots) == 1 and found.roots[0].contains(1e20)
    assert certify.fixed_point([1.0, -5.0], [[1.0]], "identity")[0].stable is True
    for args, error in (((float("nan"), 0.5, "tanh"), dv.NonFiniteInputError),
                        ((1e308, 0.5, "softplus"), dv.DEQError), ((0.0, 0.5, "identity"), dv.DEQError),
                        ((0.0, 2.0, "relu"), dv.DEQError), ((None, 2.0, "tanh"), dv.DEQError),
                        ((0.0, 0.5, ["tanh"]), dv.DEQError), ((10**400, 0.5, "softplus"), dv.DEQError)):
        with pytest.raises(error):
            certify.enclose_roots(*args)
    start = time.process_time()
    tangent = certify.enclose_roots(0.532839975353552, 2.0, "tanh")  # a double root of y = tanh(2y + a)
    assert not tangent.complete and time.process_time() - start < 30
    for answers in (["a", "b"], [1j, 0.1], [0.1, 0.2, 0.3]):
        with pytest.raises(dv.DEQError):
            certify.fixed_point([1.0, 0.5], [[1.0], [2.0]], "tanh", answers=answers)
    params = dv.VectorParams(0.5 * np.eye(2), np.ones((2, 1)), np.zeros(2), np.ones(2))
    with pytest.raises(dv.DEQError, match="answers has 3 values"):
        certify.vector_fixed_point(params, np.ones((2, 1)), "tanh", answers=np.zeros(3))
    with pytest.raises(dv.DEQError, match="VectorParams"):
        certify.vector_fixed_point((1, 2), np.ones((2, 1)), "tanh")


def _linear_empirical_problem(theta0=(0.7, -0.4, 0.3), step=0.05):
    from deqverify.theorems import Problem
    rng = np.random.default_rng(11)
    X = rng.standard_normal((20, 2))
    risk = dv.EmpiricalRisk.from_teacher(dv.LinearDEQ(), X, [1.0, -0.5])
    return Problem(risk.model, risk, np.array(theta0), points=np.array([[0.1, 0.2, -2.0], [3.0, -1.0, 0.999]]),
                   step=step, steps=5)


@needs_flint
@pytest.mark.parametrize("theorem_id", ["LIN-ORTH", "GD-RADIUS"])
def test_the_ladder_decides_the_linear_identities_by_proof(theorem_id):
    """LIN-ORTH (at every point, θ₂ up to 0.999) and GD-RADIUS (one exact step) are CERTIFIED
    on the correct risk, with the defect's enclosure around 0; a wrong gradient is a VIOLATION
    by proof that says the float64 gradient is beyond the certified one."""
    from deqverify.reference.ladder import Classification, classify
    import dataclasses
    problem = _linear_empirical_problem()
    good = classify(theorem_id, problem)
    assert good.classification is Classification.CERTIFIED and good.kind == "proof", good
    largest = max(np.abs(problem.risk.gradient(theta)).max() for theta in problem.all_points())
    assert 0 < good.radius < 1e-14 * largest and "holds 0" in good.details  # |∇R| up to 1.5e10 at θ₂ = 0.999
    # ∂R/∂θ₂ with the wrong sign: LIN-ORTH's exact defect is still 0, the implementation's is not
    broken = dataclasses.replace(problem, risk=WrappedRisk(problem.risk, lambda theta, g: np.r_[g[:-1], -g[-1]]))
    bad = classify(theorem_id, broken)
    assert bad.classification is Classification.VIOLATION and bad.kind == "proof", bad
    assert "implementation error" in bad.details


@needs_flint
def test_a_risk_that_cannot_be_certified_says_which_sample_and_why():
    from deqverify.certify.risk import empirical_risk
    theta = np.array([1.0, 0.5])
    nan_row = empirical_risk(theta, np.array([[1.0], [np.nan]]), [0.0, 1.0], "tanh")
    assert not nan_row.certified and "sample 1" in nan_row.reason and np.isnan(nan_row.value[0])
    assert "target" in empirical_risk(theta, [[1.0]], [np.inf], "tanh").reason
    # a repelling root handed in as the answer: g' = 1 − θ₂σ' < 0 there, the root is certified,
    # and the IFT factor is still well defined (1 − θ₂σ' bounded away from 0)
    repelling = empirical_risk(np.array([1.0, 3.0]), [[0.0]], [0.0], "tanh", answers=[0.0])
    assert repelling.certified and repelling.gradient[-1, 0] <= 0 <= repelling.gradient[-1, 1]
    with pytest.raises(dv.DEQError, match="one target per row"):
        empirical_risk(theta, [[1.0], [2.0]], [0.0], "tanh")


@needs_flint
def test_verify_certify_proves_the_statements_that_have_a_proof(tmp_path, capsys):
    """``deqverify verify --certify``: every generated problem of FP-1, LIN-ORTH and GD-RADIUS
    proved (a contraction and θ₂ ≠ 1 leave no excuse), no proved violation, exit 0, JSON kept."""
    import json
    from deqverify.app.cli import main
    out = tmp_path / "proofs.json"
    code = main(["verify", "--certify", "--examples", "12", "--theorem", "FP-1", "--theorem", "LIN-ORTH",
                 "--theorem", "GD-RADIUS", "--theorem", "T3.1", "--json", str(out)])
    assert code == 0, capsys.readouterr().out
    rows = {row["theorem"]: row for row in json.loads(out.read_text())}
    assert sorted(rows) == ["FP-1", "GD-RADIUS", "LIN-ORTH"]  # T3.1 (a flow) has no proof
    for row in rows.values():
        assert row["problems"] > 0 and row["certified"] == row["problems"] and row["violated"] == 0, row
    assert "problems proved" in capsys.readouterr().out


def test_verify_certify_on_statements_without_a_proof_is_a_usage_error(capsys):
    from deqverify.app.cli import main
    assert main(["verify", "--certify", "--theorem", "T3.1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ("has a proof" in err or "pip install" in err), err


def _vector_problem(activation, frozen=()):
    """A vector empirical risk (k = 2, d = 2) at a contraction, with two more points."""
    from deqverify.theorems.base import Problem
    rng = np.random.default_rng(7)
    model = dv.VectorDEQ(2, activation, frozen=frozen)
    risk = dv.EmpiricalRisk(model, rng.standard_normal((5, 2)), rng.standard_normal(5))
    flat = [dv.VectorParams(0.4 * np.array([[0.5, -0.3], [0.2, 0.6]]) * scale, rng.standard_normal((2, 2)),
                            rng.standard_normal(2), rng.standard_normal(2)).flat for scale in (1.0, -1.5, 0.1)]
    return Problem(model, risk, flat[0], points=np.array(flat[1:]), step=0.05, steps=3)


@needs_flint
@pytest.mark.parametrize("theorem_id, activation", [("VEC-ORTH", "identity"), ("VEC-RADIUS", "identity"),
                                                    ("VEC-SCALE", "identity"), ("VEC-BAL", "relu"),
                                                    ("VEC-BAL", "identity")])
def test_the_ladder_decides_the_vector_identities_by_proof(theorem_id, activation):
    """The symmetry identities of the vector DEQ are CERTIFIED on the correct risk (their exact
    defects enclose 0); a gradient 1e-6 off in one entry is a VIOLATION by proof."""
    import dataclasses

    from deqverify.reference.ladder import Classification, classify
    problem = _vector_problem(activation)
    good = classify(theorem_id, problem)
    assert good.classification is Classification.CERTIFIED and good.kind == "proof", good
    assert 0 < good.radius < 1e-12 and "holds 0" in good.details

    def nudged(theta, g):
        g = g.copy()
        g[4] *= 1 + 1e-6  # ∂R/∂U₀₀
        return g

    bad = classify(theorem_id, dataclasses.replace(problem, risk=WrappedRisk(problem.risk, nudged)))
    assert bad.classification is Classification.VIOLATION and bad.kind == "proof", bad


@needs_flint
def test_a_smooth_activation_breaks_the_balance_by_proof():
    """VEC-BAL needs a positively homogeneous σ: for tanh the exact defect's enclosure
    excludes 0 — a proved counterexample, the ablation A-homogeneous as a certificate."""
    from deqverify.reference.proofs import Classification, decide_by_proof
    result = decide_by_proof("VEC-BAL", _vector_problem("tanh"))
    assert result.classification is Classification.VIOLATION and "excludes 0" in result.details, result


@needs_flint
def test_vector_risk_enclosures_refuse_what_they_cannot_prove():
    from deqverify.certify.vector_risk import vector_empirical_risk
    model = dv.VectorDEQ(1, "relu", frozen=("U",))
    params = dv.VectorParams(np.array([[0.5]]), np.array([[1.0]]), np.array([0.0]), np.array([2.0]))
    # x = 0 puts the pre-activation exactly on ReLU's kink: no derivative to enclose
    kink = vector_empirical_risk(model, params, [[0.0]], [1.0])
    assert not kink.certified and "holds 0" in kink.reason and np.isnan(kink.value[0])
    nan_row = vector_empirical_risk(model, params, [[1.0], [np.nan]], [1.0, 0.0])
    assert not nan_row.certified and "sample 1" in nan_row.reason
    assert "target" in vector_empirical_risk(model, params, [[1.0]], [np.nan]).reason
    proved = vector_empirical_risk(model, params, [[1.0]], [1.0])
    assert proved.certified and np.abs(proved.gradient[1]).max() < 1e-320  # U is frozen: 0 (outward-rounded)
    with pytest.raises(dv.DEQError, match="one target per row"):
        vector_empirical_risk(model, params, [[1.0], [2.0]], [1.0])
    with pytest.raises(dv.DEQError, match="VectorParams"):
        vector_empirical_risk(model, params.flat, [[1.0]], [1.0])


REFERENCED_CHECKS = ("forward-accuracy", "gradient-ift", "vec-forward-accuracy", "vec-gradient-ift")


def _notes():
    from planted_bugs import Correct

    from deqverify.conformance.calls import Harness
    from deqverify.conformance.checks import CHECKS
    return {check_id: CHECKS[check_id].run(Harness(Correct(), "correct")) for check_id in REFERENCED_CHECKS}


@needs_flint
def test_the_checkers_references_are_certified():
    """Each reference the accuracy checks compare against is proved: the note gives the
    proved distance from the reference to the exact value, far below every threshold."""
    import re
    for check_id, result in _notes().items():
        assert result.status == "passed", result
        radius = re.search(r"reference certified \(radius ([^)]+)\)", result.note)
        # the reference is proved 10⁴× more accurate than the threshold it judges others by
        assert radius and float(radius.group(1)) < 1e-4 * result.threshold, (check_id, result.note)


@needs_flint
def test_a_reference_off_by_a_millionth_shows_in_its_certificate(monkeypatch):
    """Planted: the bracketed reference (scalar) and the built-in reference (vector) shifted
    by 1e-6 relative — the certificate's radius reports it (the enclosure is of the exact
    root, not of the reference)."""
    import re

    from deqverify.conformance.checks import accuracy, vector
    bracketed, built_in = accuracy.reference_y, vector.reference_Z
    monkeypatch.setattr(accuracy, "reference_y", lambda *a: bracketed(*a) * (1 + 1e-6))
    monkeypatch.setattr(vector, "reference_Z", lambda *a, **k: (built_in(*a, **k)[0] * (1 + 1e-6), None))
    for check_id, result in _notes().items():
        if check_id.endswith("gradient-ift"):
            continue
        radius = re.search(r"reference certified \(radius ([^)]+)\)", result.note)
        assert radius and float(radius.group(1)) > 1e-7, (check_id, result.note)


def test_without_the_extra_no_certificate_is_claimed(monkeypatch):
    from deqverify.conformance.checks import certified_reference
    monkeypatch.setattr(certified_reference, "available", lambda: False)
    for result in _notes().values():
        assert result.status == "passed" and "certified" not in result.note, result.note


def _drawn(theorem_id, count=8):
    """The first ``count`` generated problems of a statement (seeded)."""
    from hypothesis import HealthCheck, Phase, given, seed, settings

    from deqverify.theorems.strategies import problems
    drawn = []

    @seed(0)
    @settings(max_examples=count, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(problems(theorem_id))
    def collect(problem):
        drawn.append(problem)

    collect()
    return drawn


@needs_flint
@pytest.mark.parametrize("theorem_id", ["PL", "MON-LIP", "SI-RSI"])
def test_the_inequalities_are_proved_or_left_open_never_refuted(theorem_id):
    """PL and MON-LIP hold: some generated problems are proved, none is refuted; a problem
    left open is an equality (or near-equality) case whose slack's enclosure holds 0."""
    from deqverify.reference.proofs import Classification, decide_by_proof
    results = [decide_by_proof(theorem_id, problem, rows=None) for problem in _drawn(theorem_id)]
    assert any(r is not None and r.classification is Classification.CERTIFIED for r in results), results
    assert not any(r is not None and r.classification is Classification.VIOLATION for r in results), results


@needs_flint
@pytest.mark.parametrize("theorem_id, planted", [
    ("PL", "λ_min(Σ) taken as λ_max(Σ)"), ("MON-LIP", "m taken 100× too large"),
    ("SI-RSI", "the gradient's enclosure with its sign flipped")])
def test_a_wrong_constant_in_the_proof_is_refuted(monkeypatch, theorem_id, planted):
    """Planted: the proof's constant made too strong (or its gradient turned around) — the
    claim is then false, and the proof must say VIOLATION (with the enclosure that excludes
    it), not CERTIFIED."""
    from deqverify.certify import risk, spectrum
    from deqverify.reference.proofs import Classification, decide_by_proof
    true_bounds, true_risk = spectrum.extreme_eigenvalues, risk.empirical_risk

    def planted_bounds(matrix):
        low, high = true_bounds(matrix)
        return (high, high) if theorem_id == "PL" else (100 * low, high)

    def turned_around(*args, **kwargs):
        enclosure = true_risk(*args, **kwargs)
        value, gradient = enclosure.exact
        return risk.proved(value, [-g for g in gradient])

    monkeypatch.setattr(spectrum, "extreme_eigenvalues", planted_bounds)
    monkeypatch.setattr(risk, "empirical_risk", turned_around)
    results = [decide_by_proof(theorem_id, problem, rows=None) for problem in _drawn(theorem_id, 20)]
    refuted = [r for r in results if r is not None and r.classification is Classification.VIOLATION]
    # refuted by the slack's enclosure, or — where the planted proof no longer matches the
    # implementation's own gradient — as the implementation error that mismatch proves
    assert refuted and any(words in refuted[0].details for words in ("is below 0", "is ≤ 0", "implementation error")), (
        planted, results)


def _layer_forward_note(layer):
    from deqverify.conformance.calls import Harness
    from deqverify.conformance.checks import CHECKS
    return CHECKS["layer-forward-accuracy"].run(Harness(layer, "layer"))


@needs_flint
def test_a_layer_declaring_its_chain_gets_a_certified_reference():
    """The example MLP layer declares f = tanh(W₃ tanh(W₂ tanh(W₁z + Ux + b₁) + b₂) + b₃): its
    reference fixed points are proved by the Krawczyk test of the chain."""
    import re

    from examples.numpy_mlp_layer import MLPLayer
    result = _layer_forward_note(MLPLayer.random())
    radius = re.search(r"reference certified on 32 of 256 samples \(radius ([^)]+)\)", result.note)
    assert result.status == "passed" and radius and float(radius.group(1)) < 1e-12, result.note


@needs_flint
def test_a_declared_chain_that_is_not_the_layers_map_certifies_nothing():
    """Planted: a declaration with b₁ off by 1e-9 — held to f first, it is refused, and no
    certificate is claimed for a map the layer does not compute."""
    from examples.numpy_mlp_layer import MLPLayer

    class Misdeclared(MLPLayer):
        def structure(self):
            declared = super().structure()
            W, b, name = declared["layers"][0]
            return {**declared, "layers": [(W, b + 1e-9, name), *declared["layers"][1:]]}

    result = _layer_forward_note(Misdeclared.random())
    assert "reference not certified" in result.note and "not the layer's f" in result.note, result.note


@needs_flint
def test_a_declaration_that_raises_is_refused_not_an_error():
    """A hostile structure(): the check still judges the layer; only the proof is refused."""
    from examples.numpy_mlp_layer import MLPLayer

    class Raising(MLPLayer):
        def structure(self):
            raise KeyError("W1")

    result = _layer_forward_note(Raising.random())
    assert result.status == "passed" and "structure() could not be evaluated (KeyError" in result.note, result.note


# -- review findings (issue 22): a proof never covers a bug of the code under test -------------

@needs_flint
def test_a_nan_gradient_is_an_implementation_error_not_a_certificate():
    """NaN compares false: a NaN float64 gradient once passed the rounding-gap test."""
    import dataclasses

    from deqverify.reference.proofs import Classification, decide_by_proof
    problem = _vector_problem("identity")
    broken = dataclasses.replace(problem, risk=WrappedRisk(problem.risk, lambda theta, g: np.full_like(g, np.nan)))
    result = decide_by_proof("VEC-ORTH", broken)
    assert result.classification is Classification.VIOLATION and "not finite" in result.details, result


@needs_flint
def test_the_inequality_proofs_hold_the_implementation_to_their_own_objects(monkeypatch):
    """PL with a halved float64 gradient, and MON-LIP with its solver's root moved by 0.05, are
    implementation errors by proof; PL on noisy targets (not the statement's risk) gets none."""
    import dataclasses

    from deqverify.core import splitting
    from deqverify.reference.proofs import Classification, decide_by_proof
    rng = np.random.default_rng(0)
    X, xi = rng.standard_normal((50, 3)), rng.standard_normal(3)
    from deqverify.theorems.base import Problem
    risk = dv.EmpiricalRisk(dv.LinearDEQ(), X, X @ xi, xi=xi)
    problem = Problem(dv.LinearDEQ(), risk, np.r_[rng.standard_normal(3), 0.3])
    assert decide_by_proof("PL", problem).classification is Classification.CERTIFIED
    halved = dataclasses.replace(problem, risk=WrappedRisk(risk, lambda theta, g: 0.5 * g))
    result = decide_by_proof("PL", halved)
    assert result.classification is Classification.VIOLATION and "implementation error" in result.details
    noisy = dv.EmpiricalRisk(dv.LinearDEQ(), X, X @ xi + 0.3 * rng.standard_normal(50), xi=xi)
    assert decide_by_proof("PL", dataclasses.replace(problem, risk=noisy)) is None
    monotone = _drawn("MON-LIP")[0]
    true_roots = splitting.monotone_roots

    def moved(model, params, offsets):
        Z, bounds = true_roots(model, params, offsets)
        Z = Z.copy()
        Z[0] += 0.05
        return Z, np.zeros_like(bounds)

    monkeypatch.setattr(splitting, "monotone_roots", moved)
    result = decide_by_proof("MON-LIP", monotone, rows=None)
    assert result.classification is Classification.VIOLATION and "beyond its stated bound" in result.details, result


@needs_flint
def test_a_relu_pre_activation_that_cancels_to_a_straddling_ball_is_enclosed():
    """u = 1 + 2⁻²⁰⁰ − 1 rounds to a ball around 0 at 128 bits: ReLU's value there is
    [0, up(u)], not 0, or the root 2⁻²⁰⁰ falls outside a 'certified' box."""
    from deqverify import certify
    t = 2.0 ** -100
    params = dv.VectorParams(np.zeros((1, 1)), np.array([[1.0, t]]), np.array([-1.0]), np.array([1.0]))
    box = certify.vector_fixed_point(params, np.array([[1.0, t]]), "relu", answers=[[0.0]])[0][0]
    assert not box.certified or box.low <= 2.0 ** -200 <= box.high, box


@needs_flint
def test_hostile_references_and_declarations_are_refused():
    from deqverify.certify.vector_risk import linear_vector_population_risk, vector_empirical_risk
    from deqverify.conformance.checks.certified_reference import ReferenceCertificates
    from examples.numpy_mlp_layer import MLPLayer
    notes = ReferenceCertificates()
    notes.scalar_gradient(np.array([0.5, 0.3]), np.ones((3, 1)), np.zeros(3), "tanh", np.array([np.nan, 1.0]))
    assert "not finite" in notes.note(), notes.note()

    class Broadcasting(MLPLayer):  # b₁ of length 1 would broadcast in numpy
        def structure(self):
            declared = super().structure()
            W, b, name = declared["layers"][0]
            return {**declared, "layers": [(W, b[:1], name), *declared["layers"][1:]]}

    assert "do not chain" in _layer_forward_note(Broadcasting.random()).note
    params = dv.VectorParams(0.5 * np.eye(2), np.ones((2, 2)), np.zeros(2), np.ones(2))
    with pytest.raises(dv.DEQError, match="linear vector DEQ"):
        linear_vector_population_risk(dv.VectorDEQ(2, "tanh"), params, np.eye(2), [1.0, 0.0])
    with pytest.raises(dv.DEQError, match="Sigma must be"):
        linear_vector_population_risk(dv.VectorDEQ(2, "identity"), params, np.eye(3), [1.0, 0.0])
    assert "not finite" in linear_vector_population_risk(dv.VectorDEQ(2, "identity"), params,
                                                         np.full((2, 2), np.nan), [1.0, 0.0]).reason
    with pytest.raises(dv.DEQError, match="width"):
        vector_empirical_risk(dv.VectorDEQ(3, "tanh"), params, np.ones((1, 2)), [0.0])
    with pytest.raises(dv.DEQError, match="VectorDEQ"):
        vector_empirical_risk(dv.SingleIndexDEQ("tanh"), params, np.ones((1, 2)), [0.0])
