"""Problems shared by the tests of the theorem checks (sensitivity, clauses): a linear DEQ on
a Gaussian population and a sigmoid single-index DEQ on a teacher's data, both well inside
every statement's assumptions."""

import numpy as np

import deqverify as dv
from deqverify.theorems import Problem

SIGMA = np.diag([0.7, 1.3, 2.0])
XI = np.array([0.5, -1.0, 0.8])


def linear_problem(theta0, **kwargs):
    risk = dv.PopulationRisk(dv.LinearDEQ(), dv.GaussianPopulation(SIGMA), XI)
    return Problem(dv.LinearDEQ(), risk, np.asarray(theta0, dtype=float), **kwargs)


def single_index_problem(targets_scale=1.0):
    rng = np.random.default_rng(8)
    X, xi = rng.standard_normal((200, 2)), np.array([0.8, -0.6])
    model = dv.SingleIndexDEQ("sigmoid")
    risk = dv.EmpiricalRisk(model, X, model.teacher(X, xi) * targets_scale, xi=xi)
    theta0 = np.r_[xi + np.array([0.2, -0.1]), 0.3]
    return Problem(model, risk, theta0, points=np.array([np.r_[xi, 0.5], np.r_[-xi, -1.0]]))


class ReluOffBy1e13(dv.SingleIndexDEQ):
    """Every root scaled by 1 + 1e-13: RELU's closed form is exact to 2(d + 2) ulps."""

    def fixed_point(self, theta, X, *, throw=False):
        result = super().fixed_point(theta, X, throw=throw)
        result.value = result.value * (1 + 1e-13)
        return result
