"""The mpmath reference: precision control, exact conversion, ladder classification."""

import dataclasses

import mpmath
import numpy as np
import pytest

import deqverify as dv
from deqverify import reference as ref
from deqverify.reference.ladder import Classification, classify
from deqverify.theorems import REGISTRY
from deqverify.theorems.strategies import problems


@pytest.fixture(autouse=True)
def mpmath_rungs_only(monkeypatch):
    """These tests pin the mpmath rungs: with the [certify] extra installed the ladder would
    decide FP-1, LIN-ORTH and GD-RADIUS by proof first (tests/test_certify.py pins that)."""
    from deqverify.reference import ladder
    monkeypatch.setattr(ladder, "decide_by_proof", lambda *args, **kwargs: None)


def test_refuses_below_30_digits():
    with pytest.raises(dv.InvalidInputError, match="at least 30 digits"):
        with ref.working_precision(29):
            pass


def test_precision_is_restored_even_after_an_error():
    before = mpmath.mp.prec
    with pytest.raises(RuntimeError):
        with ref.working_precision(80):
            assert mpmath.mp.dps >= 80
            raise RuntimeError
    assert mpmath.mp.prec == before


def test_conversions_are_exact_and_correctly_rounded():
    value = 0.1
    with ref.working_precision(50):
        exact = ref.to_mp(value)
        assert exact == mpmath.mpf(value) and exact != mpmath.mpf("0.1")
        assert ref.to_float(exact) == value
        assert ref.to_float(mpmath.mpf(1) / 3) == 1 / 3


def _example(theorem_id, seed=3):
    from hypothesis import HealthCheck, find, settings
    return find(problems(theorem_id), lambda p: p.points is not None or p.X is not None,
                settings=settings(database=None, derandomize=True, suppress_health_check=list(HealthCheck)))


class FlippedRisk:
    def __init__(self, risk):
        self._risk = risk

    def __getattr__(self, name):
        return getattr(self._risk, name)


def test_correct_implementation_classifies_as_rounding():
    problem = _example("LIN-ORTH")
    assert classify("LIN-ORTH", problem).classification is Classification.ROUNDING
    assert classify("PL", _example("PL")).classification is Classification.ROUNDING


def test_a_real_violation_is_classified_as_violation():
    """A loose forward solver violates FP-1; mpmath confirms the float64 answer is off."""
    problem = _example("FP-1")
    loose = dv.SingleIndexDEQ(problem.model.activation, "picard", dv.PicardSettings(rtol=1e-3, atol=1e-3))
    broken = dataclasses.replace(problem, model=loose, theta0=np.r_[problem.theta0[:-1], 0.8 / loose.activation.lipschitz])
    assert not REGISTRY["FP-1"].check(broken).holds
    assert classify("FP-1", broken).classification is Classification.VIOLATION


def test_statements_without_a_rerun_are_inconclusive():
    result = classify("T3.8", _example("LIN-ORTH"))
    assert result.classification is Classification.INCONCLUSIVE
    assert "no mpmath rerun" in str(result)


def test_failure_message_carries_the_classification():
    from deqverify.theorems.checking import assert_holds
    problem = _example("FP-1")
    loose = dv.SingleIndexDEQ(problem.model.activation, "picard", dv.PicardSettings(rtol=1e-3, atol=1e-3))
    broken = dataclasses.replace(problem, model=loose, theta0=np.r_[problem.theta0[:-1], 0.8 / loose.activation.lipschitz])
    with pytest.raises(AssertionError, match="high precision: violation"):
        assert_holds("FP-1", broken)


def test_linear_gradient_flow_matches_the_mpmath_odefun_rerun():
    """A short high-precision rerun of the linear population flow (mp.odefun, 30 digits):
    the float64 DOP853 flow at rtol 1e-12 agrees to ~1e-14 at t = 1, and C is conserved."""
    from deqverify.reference.population import linear_flow

    Sigma, xi, theta0 = np.array([[2.0, 0.3], [0.3, 1.0]]), np.array([1.0, -0.5]), np.array([0.3, 0.1, 0.4])
    with ref.working_precision(30):
        exact = np.array([ref.to_float(v) for v in linear_flow(theta0, Sigma, xi, 1.0)])
    risk = dv.PopulationRisk(dv.LinearDEQ(), dv.GaussianPopulation(Sigma), xi)
    flow = dv.gradient_flow(risk, theta0, 1.0, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(flow.final_theta, exact, rtol=0, atol=1e-12)
    C = lambda t: t[:-1] @ t[:-1] + (t[-1] - 1) ** 2  # noqa: E731
    assert C(exact) == pytest.approx(C(theta0), rel=1e-14)


def test_a_broken_gradient_is_not_called_rounding():
    """LIN-ORTH holds in mpmath whatever the implementation does; a sign error in ∂R/∂θ₂ is
    an implementation error, classified VIOLATION with that explanation."""
    from deqverify.theorems import Problem

    risk = dv.PopulationRisk(dv.LinearDEQ(), dv.GaussianPopulation(np.eye(2)), [1.0, -0.5])
    problem = Problem(model=risk.model, risk=risk, theta0=np.array([0.3, 0.2, 0.4]))
    assert classify("LIN-ORTH", problem).classification is Classification.ROUNDING

    class Flipped:
        def __init__(self, risk):
            self._risk = risk

        def __getattr__(self, name):
            return getattr(self._risk, name)

        def gradient(self, theta):
            g = np.array(self._risk.gradient(theta))
            g[-1] = -g[-1]
            return g

    broken = dataclasses.replace(problem, risk=Flipped(problem.risk))
    result = classify("LIN-ORTH", broken)
    assert result.classification is Classification.VIOLATION
    assert "implementation error" in str(result)
