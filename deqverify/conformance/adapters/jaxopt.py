"""jaxopt's FixedPointIteration with implicit differentiation (its default), tol 1e-12.

The status is jaxopt's own: converged when the final ``state.error`` (the l2 norm of
z − f(z) over the batch) is finite and at most ``tol``.

Requires the ``jax`` extra on Python ≥ 3.12: ``pip install 'deqverify[jax]'``.
"""

from __future__ import annotations

from deqverify.conformance.adapters.jax_common import JaxImplementation

TOL = 1e-12


class JaxoptImplementation(JaxImplementation):
    name = "jaxopt"

    def _solve(self, theta, X, sigma):
        import jaxopt

        jnp = self.jnp

        def deq_map(z, t):
            return sigma(X @ t[:-1] + t[-1] * z)

        solver = jaxopt.FixedPointIteration(fixed_point_fun=deq_map, maxiter=10_000, tol=TOL,
                                            implicit_diff=True)
        params, state = solver.run(jnp.zeros(X.shape[0], dtype=X.dtype), theta)
        return params, jnp.isfinite(state.error) & (state.error <= TOL)


    def _solve_vector(self, W, U, b, X, sigma):
        """The whole batch z (n, k) as one fixed point of jaxopt (its own batch-wide error)."""
        import jaxopt
        jnp = self.jnp

        def deq_map(z, W, U, b):
            return sigma(z @ W.T + X @ U.T + b)

        solver = jaxopt.FixedPointIteration(fixed_point_fun=deq_map, maxiter=10_000, tol=TOL,
                                            implicit_diff=True)
        params, state = solver.run(jnp.zeros((X.shape[0], W.shape[0]), dtype=X.dtype), W, U, b)
        return params, jnp.isfinite(state.error) & (state.error <= TOL)


def implementation():
    return JaxoptImplementation()
