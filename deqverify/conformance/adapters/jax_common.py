"""Shared pieces of the JAX adapters: float64 mode, activations, the DEQ map."""

from __future__ import annotations

import numpy as np

ACTIVATIONS = ("sigmoid", "tanh", "softplus", "identity")


def jax_modules():
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    return jax, jnp


def activation_function(jax, jnp, activation):
    return {"sigmoid": jax.nn.sigmoid, "tanh": jnp.tanh, "softplus": jax.nn.softplus,
            "relu": jax.nn.relu, "identity": lambda u: u}[activation]


class JaxImplementation:
    """Base: subclasses implement ``_solve(theta, X, sigma) -> (y, converged)`` and
    ``_solve_vector(W, U, b, X, sigma) -> (Z, converged)``, differentiable in the parameters,
    with ``converged`` the library's own verdict (a bool).

    Every entry point is compiled once per activation with ``jax.jit`` (which keeps one
    executable per shape and dtype): without it each call re-traced and re-compiled the
    library's solver loop, 1–5 s per call whatever the batch size, so whole batteries took
    10–14 minutes and the resource checks timed the compiler instead of the solver."""

    from deqverify.conformance.protocol import Capabilities as _Capabilities

    capabilities = _Capabilities(activations=ACTIVATIONS, dtypes=("float64", "float32"),
                                 reports_status=True, vector=True,
                                 vector_activations=("tanh", "sigmoid", "softplus", "relu", "identity"))

    def __init__(self):
        self.jax, self.jnp = jax_modules()
        self._compiled = {}

    def _jit(self, kind, activation, build):
        """The jitted function ``build(sigma)`` for (kind, activation), built once."""
        key = (kind, activation)
        if key not in self._compiled:
            self._compiled[key] = self.jax.jit(build(activation_function(self.jax, self.jnp, activation)))
        return self._compiled[key]

    def fixed_point_status(self, theta, X, activation):
        jnp = self.jnp
        dtype = jnp.float32 if np.asarray(X).dtype == np.float32 else jnp.float64
        solve = self._jit("forward", activation, lambda sigma: lambda t, X: self._solve(t, X, sigma))
        y, converged = solve(jnp.asarray(theta, dtype=dtype), jnp.asarray(X, dtype=dtype))
        return np.asarray(y, dtype=np.float64), bool(converged)

    def fixed_point(self, theta, X, activation):
        return self.fixed_point_status(theta, X, activation)[0]

    def risk_gradient(self, theta, X, targets, activation):
        jax, jnp = self.jax, self.jnp

        def build(sigma):
            def risk(t, X, targets):
                return jnp.mean((self._solve(t, X, sigma)[0] - targets) ** 2)
            return jax.grad(risk)

        gradient = self._jit("gradient", activation, build)
        return np.asarray(gradient(jnp.asarray(theta, dtype=jnp.float64), jnp.asarray(X, dtype=jnp.float64),
                                   jnp.asarray(targets, dtype=jnp.float64)))

    # -- vector protocol -------------------------------------------------------------------
    def fixed_point_vector_status(self, params, X, activation):
        jnp = self.jnp
        solve = self._jit("vector-forward", activation,
                          lambda sigma: lambda W, U, b, X: self._solve_vector(W, U, b, X, sigma))
        W, U, b = (jnp.asarray(params[name], dtype=jnp.float64) for name in ("W", "U", "b"))
        Z, converged = solve(W, U, b, jnp.asarray(X, dtype=jnp.float64))
        return np.asarray(Z, dtype=np.float64), bool(converged)

    def fixed_point_vector(self, params, X, activation):
        return self.fixed_point_vector_status(params, X, activation)[0]

    def risk_gradient_vector(self, params, X, targets, activation):
        jax, jnp = self.jax, self.jnp

        def build(sigma):
            def risk(p, X, targets):
                Z = self._solve_vector(p["W"], p["U"], p["b"], X, sigma)[0]
                return jnp.mean((Z @ p["v"] - targets) ** 2)
            return jax.grad(risk)

        gradient = self._jit("vector-gradient", activation, build)
        grads = gradient({name: jnp.asarray(params[name], dtype=jnp.float64) for name in ("W", "U", "b", "v")},
                         jnp.asarray(X, dtype=jnp.float64), jnp.asarray(targets, dtype=jnp.float64))
        return {name: np.asarray(value) for name, value in grads.items()}
