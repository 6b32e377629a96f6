"""Any JAX DEQ layer behind the layer protocol (:mod:`..layer_protocol`). Requires the ``jax``
extra (JAX needs Python ≥ 3.12 here)::

    layer = JaxLayer(f, solve, params, declares=LayerDeclaration(...),
                     input_shape=(d,), state_shape=(k,))

``f(params, z, x)`` is the layer's map (pure, ``jax.numpy``); ``solve(params, x)`` is the forward
the user ships, differentiable in ``params`` through the library's own backward (implicit
differentiation, unrolling, …); ``params`` is a dict of arrays (an Equinox module's arrays
can be handed in as a dict and rebuilt inside ``f``/``solve``). x64 is switched on.

* ``f``, ``jvp_f``, ``vjp_f``, ``vjp_f_params``: ``jax.jvp`` / ``jax.vjp`` of f (trusted);
* ``solve(x)`` and, with ``status(params, x) -> (z, converged)``, ``solve_status(x)``: jitted
  once per input shape and dtype (a re-trace per call would dominate every timing);
* ``backward(x, g)``: ``jax.grad`` of Σ g·solve(params, x) in ``params`` — the library's backward;
* ``settings()`` / ``with_settings(**changes)`` when ``rebuild(settings) -> (solve, status)``
  is given;
* float32 inputs run with the parameters cast to float32 (if declared).
"""

from __future__ import annotations

import numpy as np

from deqverify.conformance.adapters.jax_common import jax_modules
from deqverify.conformance.layer_protocol import LayerDeclaration


class JaxLayer:
    def __init__(self, f, solve, params: dict, *, declares: LayerDeclaration, input_shape, state_shape,
                 status=None, settings: dict | None = None, rebuild=None, name: str = "jax-layer"):
        self.jax, self.jnp = jax_modules()
        jax = self.jax
        self.map, self._solve, self._status, self.rebuild = f, solve, status, rebuild
        self._params = {k: self.jnp.asarray(v, dtype=self.jnp.float64) for k, v in params.items()}
        self.declares, self.name = declares, name
        self.input_shape, self.state_shape = tuple(input_shape), tuple(state_shape)
        self._settings = dict(settings or {})
        self._solve_jit = jax.jit(solve)
        self._grad_jit = jax.jit(jax.grad(lambda p, x, g: self.jnp.sum(solve(p, x) * g)))
        if status is not None:
            self._status_jit = jax.jit(status)
            self.solve_status = self._solve_status
        if rebuild is not None:
            self.settings, self.with_settings = self._current_settings, self._with_settings

    def _inputs(self, x):
        jnp = self.jnp
        x = np.asarray(x)
        dtype = jnp.float32 if x.dtype == np.float32 else jnp.float64
        params = {k: v.astype(dtype) for k, v in self._params.items()}
        return params, jnp.asarray(x, dtype=dtype)

    # ---- the model (autograd: trusted) ------------------------------------------------------
    def f(self, z, x):
        jnp = self.jnp
        return np.asarray(self.map(self._params, jnp.asarray(z, dtype=jnp.float64), jnp.asarray(x, dtype=jnp.float64)))

    def jvp_f(self, z, x, v):
        jnp = self.jnp
        xj = jnp.asarray(x, dtype=jnp.float64)
        _, out = self.jax.jvp(lambda zj: self.map(self._params, zj, xj), (jnp.asarray(z, dtype=jnp.float64),),
                              (jnp.asarray(v, dtype=jnp.float64),))
        return np.asarray(out)

    def vjp_f(self, z, x, u):
        jnp = self.jnp
        xj = jnp.asarray(x, dtype=jnp.float64)
        _, pullback = self.jax.vjp(lambda zj: self.map(self._params, zj, xj), jnp.asarray(z, dtype=jnp.float64))
        return np.asarray(pullback(jnp.asarray(u, dtype=jnp.float64))[0])

    def vjp_f_params(self, z, x, u):
        jnp = self.jnp
        zj, xj = jnp.asarray(z, dtype=jnp.float64), jnp.asarray(x, dtype=jnp.float64)
        _, pullback = self.jax.vjp(lambda p: self.map(p, zj, xj), self._params)
        return {k: np.asarray(v) for k, v in pullback(jnp.asarray(u, dtype=jnp.float64))[0].items()}

    # ---- the forward and backward under test --------------------------------------------------
    def solve(self, x):
        return np.asarray(self._solve_jit(*self._inputs(x)))

    def _solve_status(self, x):
        z, converged = self._status_jit(*self._inputs(x))
        return np.asarray(z), np.asarray(converged)

    def backward(self, x, g):
        jnp = self.jnp
        grads = self._grad_jit(self._params, jnp.asarray(x, dtype=jnp.float64), jnp.asarray(g, dtype=jnp.float64))
        return {k: np.asarray(v) for k, v in grads.items()}

    # ---- parameters and settings ------------------------------------------------------------
    def parameters(self):
        return {k: np.array(v) for k, v in self._params.items()}

    def _copy(self, params, solve, status, settings):
        return JaxLayer(self.map, solve, params, declares=self.declares, input_shape=self.input_shape,
                        state_shape=self.state_shape, status=status, settings=settings,
                        rebuild=self.rebuild, name=self.name)

    def with_parameters(self, params):
        return self._copy(params, self._solve, self._status, self._settings)

    def _current_settings(self):
        return dict(self._settings)

    def _with_settings(self, **changes):
        settings = {**self._settings, **changes}
        solve, status = self.rebuild(settings)
        return self._copy(self._params, solve, status, settings)
