"""Basin of the restricted secant inequality: largest tested radius with λ₁ > 0 (docs/findings.md)."""
import numpy as np, deqverify as dv
from deqverify.theorems import Problem
from deqverify.theorems.single_index import basin_radius
for name in ("sigmoid", "tanh", "softplus"):
    for xi in ([1.0, 0.0], [2.0, 1.0]):
        risk = dv.PopulationRisk(dv.SingleIndexDEQ(name), dv.GaussianPopulation(np.eye(2)), xi)
        problem = Problem(model=risk.model, risk=risk, theta0=risk.truth)
        print(name, xi, "largest tested δ with λ₁(δ) > 0:", round(basin_radius(problem, 20 * np.linalg.norm(xi)), 3),
              "‖ξ‖ =", round(float(np.linalg.norm(xi)), 3))
