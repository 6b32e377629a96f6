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
    with ``converged`` the library's own verdict (a bool)."""

    from deqverify.conformance.protocol import Capabilities as _Capabilities

    capabilities = _Capabilities(activations=ACTIVATIONS, dtypes=("float64", "float32"),
                                 reports_status=True, vector=True,
                                 vector_activations=("tanh", "sigmoid", "softplus", "relu", "identity"))

    def __init__(self):
        self.jax, self.jnp = jax_modules()

    def fixed_point_status(self, theta, X, activation):
        jnp = self.jnp
        dtype = jnp.float32 if np.asarray(X).dtype == np.float32 else jnp.float64
        sigma = activation_function(self.jax, jnp, activation)
        y, converged = self._solve(jnp.asarray(theta, dtype=dtype), jnp.asarray(X, dtype=dtype), sigma)
        return np.asarray(y, dtype=np.float64), bool(converged)

    def fixed_point(self, theta, X, activation):
        return self.fixed_point_status(theta, X, activation)[0]

    def risk_gradient(self, theta, X, targets, activation):
        jax, jnp = self.jax, self.jnp
        sigma = activation_function(jax, jnp, activation)
        X, targets = jnp.asarray(X), jnp.asarray(targets)

        def risk(t):
            return jnp.mean((self._solve(t, X, sigma)[0] - targets) ** 2)

        return np.asarray(jax.grad(risk)(jnp.asarray(theta, dtype=jnp.float64)))

    # -- vector protocol -------------------------------------------------------------------
    def fixed_point_vector_status(self, params, X, activation):
        jnp = self.jnp
        sigma = activation_function(self.jax, jnp, activation)
        W, U, b = (jnp.asarray(params[name], dtype=jnp.float64) for name in ("W", "U", "b"))
        Z, converged = self._solve_vector(W, U, b, jnp.asarray(X, dtype=jnp.float64), sigma)
        return np.asarray(Z, dtype=np.float64), bool(converged)

    def fixed_point_vector(self, params, X, activation):
        return self.fixed_point_vector_status(params, X, activation)[0]

    def risk_gradient_vector(self, params, X, targets, activation):
        jax, jnp = self.jax, self.jnp
        sigma = activation_function(jax, jnp, activation)
        X, targets = jnp.asarray(X, dtype=jnp.float64), jnp.asarray(targets, dtype=jnp.float64)

        def risk(p):
            Z = self._solve_vector(p["W"], p["U"], p["b"], X, sigma)[0]
            return jnp.mean((Z @ p["v"] - targets) ** 2)

        grads = jax.grad(risk)({name: jnp.asarray(params[name], dtype=jnp.float64)
                                for name in ("W", "U", "b", "v")})
        return {name: np.asarray(value) for name, value in grads.items()}
