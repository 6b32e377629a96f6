"""Negative controls: deliberately broken models and dynamics. A suite that passes a broken
model is broken, so each test asserts that at least one theorem check catches the bug on
problems drawn from the same strategies the property suite uses."""

import dataclasses

import pytest
from broken_risks import WrappedRisk
from hypothesis import HealthCheck, find, settings

import deqverify as dv
from deqverify.theorems import REGISTRY
from deqverify.theorems.strategies import problems

SEARCH = settings(max_examples=60, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck), derandomize=True)


def caught(theorem_id, break_problem):
    """True when some generated problem, once broken, fails the theorem's check."""
    def fails(problem):
        try:
            return not REGISTRY[theorem_id].check(break_problem(problem)).holds
        except dv.DEQError:  # the broken implementation refused this problem: not a catch
            return False

    try:
        find(problems(theorem_id), fails, settings=SEARCH)
    except Exception as error:  # NoSuchExample
        if type(error).__name__ == "NoSuchExample":
            return False
        raise
    return True


def with_model(problem, model_class):
    """The same problem with a broken model (and a risk built on it)."""
    model = model_class(problem.model.activation) if not problem.model.is_linear else model_class("identity")
    risk = dv.EmpiricalRisk(model, problem.risk.X, problem.risk.targets, xi=problem.risk.xi)
    return dataclasses.replace(problem, model=model, risk=risk)


class JacobianFree(dv.SingleIndexDEQ):
    """Jacobian-free backprop (1-step phantom gradient): drops 1/(1 − θ₂σ')."""

    @staticmethod
    def jacobian_factor(result, theta2):
        return result.slope


class TwoTermNeumann(dv.SingleIndexDEQ):
    """Backward by the 2-term Neumann series: 1/(1 − θ₂σ') ≈ 1 + θ₂σ'."""

    @staticmethod
    def jacobian_factor(result, theta2):
        return result.slope * (1.0 + theta2 * result.slope)


def flip_theta2(_, gradient):
    gradient[-1] = -gradient[-1]
    return gradient


@pytest.mark.parametrize("broken", [JacobianFree, TwoTermNeumann], ids=["jfb", "neumann2"])
def test_truncated_backward_is_caught_by_FP2(broken):
    assert caught("FP-2", lambda p: with_model(p, broken))


def test_sign_error_in_theta2_derivative_is_caught():
    assert caught("LIN-ORTH", lambda p: dataclasses.replace(p, risk=WrappedRisk(p.risk, flip_theta2)))
    assert caught("FP-2", lambda p: dataclasses.replace(p, risk=WrappedRisk(p.risk, flip_theta2)))


def test_gradient_scaled_by_one_plus_1e_minus_6_is_caught():
    assert caught("FP-2", lambda p: dataclasses.replace(
        p, risk=WrappedRisk(p.risk, lambda _, g: g * (1 + 1e-6))))


def test_descent_applying_the_step_twice_is_caught():
    def doubled(risk, theta0, step, steps, record_every=1, **kwargs):
        return dv.gradient_descent(risk, theta0, 2 * step, steps, record_every, **kwargs)

    assert caught("GD-RADIUS", lambda p: dataclasses.replace(p, descent=doubled))


@pytest.mark.parametrize("method,settings_", [
    ("newton", dv.NewtonSettings(rtol=1e-4, atol=1e-4, max_iter=1)),
    ("picard", dv.PicardSettings(rtol=1e-4, atol=1e-4)),
], ids=["newton", "picard"])
def test_loose_forward_tolerance_is_caught_by_FP1(method, settings_):
    def loosen(problem):
        return dataclasses.replace(problem, model=dv.SingleIndexDEQ(problem.model.activation, method,
                                                                     settings_))

    assert caught("FP-1", loosen)


def test_the_unbroken_suite_passes_the_same_problems():
    """Control of the controls: the same searches find nothing on the real implementation."""
    assert not caught("FP-2", lambda p: p)
    assert not caught("GD-RADIUS", lambda p: p)
