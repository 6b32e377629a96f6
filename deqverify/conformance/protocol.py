"""What an implementation under test provides (numpy in, numpy out).

Required::

    name: str
    capabilities: Capabilities
    fixed_point(theta, X, activation) -> y                      # (n,)
    risk_gradient(theta, X, targets, activation) -> gradient    # (d+1,), of mean((y − t)²)

Optional::

    fixed_point_status(theta, X, activation) -> (y, converged)  # converged: bool or (n,) bool

``activation`` is one of "sigmoid", "tanh", "softplus", "identity" (the linear DEQ). An
implementation signals an ill-posed or failed solve by raising (any exception) or by
returning NaN for the affected samples; returning finite numbers is a claim of success.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Capabilities:
    activations: tuple[str, ...] = ("sigmoid", "tanh", "softplus", "identity")
    dtypes: tuple[str, ...] = ("float64",)
    reports_status: bool = False
    raises_on_nonconvergence: bool = False
