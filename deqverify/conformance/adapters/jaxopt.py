"""jaxopt's FixedPointIteration with implicit differentiation (its default), tol 1e-12.

Requires the ``jax`` extra on Python ≥ 3.12: ``pip install 'deqverify[jax]'``.
"""

from __future__ import annotations

from .jax_common import JaxImplementation


class JaxoptImplementation(JaxImplementation):
    name = "jaxopt"

    def _solve(self, theta, X, sigma):
        import jaxopt

        jnp = self.jnp

        def deq_map(z, t):
            return sigma(X @ t[:-1] + t[-1] * z)

        solver = jaxopt.FixedPointIteration(fixed_point_fun=deq_map, maxiter=10_000, tol=1e-12,
                                            implicit_diff=True)
        return solver.run(jnp.zeros(X.shape[0], dtype=X.dtype), theta).params


def implementation():
    return JaxoptImplementation()
