"""optimistix: the fixed point as a root find (Newton) with the implicit adjoint, tol 1e-12.

Requires the ``jax`` extra on Python ≥ 3.12: ``pip install 'deqverify[jax]'``.
"""

from __future__ import annotations

from .jax_common import JaxImplementation


class OptimistixImplementation(JaxImplementation):
    name = "optimistix"

    def _solve(self, theta, X, sigma):
        import optimistix as optx

        jnp = self.jnp

        def residual(z, t):
            return z - sigma(X @ t[:-1] + t[-1] * z)

        solver = optx.Newton(rtol=1e-12, atol=1e-12)
        solution = optx.root_find(residual, solver, jnp.zeros(X.shape[0], dtype=X.dtype), args=theta,
                                  adjoint=optx.ImplicitAdjoint(), max_steps=256, throw=True)
        return solution.value


def implementation():
    return OptimistixImplementation()
