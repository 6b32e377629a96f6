"""A DEQ layer in plain numpy that passes every check of the layer battery — copy it and
replace the map. Check it with ``deqverify check examples.numpy_mlp_layer:layer``.

    z* = f(z*, x),   f(z, x) = tanh(W₃ tanh(W₂ tanh(W₁z + Ux + b₁) + b₂) + b₃)

Forward: fixed-point iteration, stopped per sample when ‖f(z) − z‖ ≤ f_tol·max(1, ‖z‖)
(a sample that reaches ``max_iter`` first is reported as not converged). Backward: the implicit
gradient gᵀ(I − J)⁻¹∂f/∂θ, with u = (I − J)⁻ᵀg by the iteration u ← g + Jᵀu, stopped per
sample at ‖g + Jᵀu − u‖ ≤ b_tol·‖g‖. The map's derivatives are written out by hand below
(``jvp_f``, ``vjp_f``, ``vjp_f_params``); a torch or JAX layer gets them from autograd.
"""

from __future__ import annotations

import numpy as np

from deqverify.conformance.layer_protocol import LayerDeclaration


class MLPMap:
    """f(z, x) = tanh(W_L tanh(… tanh(W₁z + Ux + b₁) …) + b_L) with its derivatives."""

    def __init__(self, params: dict, depth: int):
        self.params, self.depth = params, depth

    def _weights(self, dtype):
        p = {name: np.asarray(value, dtype=dtype) for name, value in self.params.items()}
        return p, [(p[f"W{i}"], p[f"b{i}"]) for i in range(1, self.depth + 1)]

    def forward(self, z, x):
        """The activations of every layer, [h₁, …, h_L]; h_L = f(z, x)."""
        p, layers = self._weights(np.result_type(z, x))
        hidden, outputs = z, []
        for i, (W, b) in enumerate(layers):
            pre = hidden @ W.T + b + (x @ p["U"].T if i == 0 else 0.0)
            hidden = np.tanh(pre)
            outputs.append(hidden)
        return outputs

    def f(self, z, x):
        return self.forward(z, x)[-1]

    def jvp(self, z, x, v):
        _, layers = self._weights(np.result_type(z, x))
        tangent = v
        for (W, _), h in zip(layers, self.forward(z, x)):
            tangent = (1 - h * h) * (tangent @ W.T)
        return tangent

    def _backprop(self, z, x, u):
        """(uᵀ∂f/∂z, {name: uᵀ∂f/∂θ summed over the batch})."""
        p, layers = self._weights(np.result_type(z, x))
        outputs = self.forward(z, x)
        inputs = [z] + outputs[:-1]
        grads, delta = {}, u
        for i in range(self.depth, 0, -1):
            W, _ = layers[i - 1]
            delta = delta * (1 - outputs[i - 1] ** 2)
            grads[f"W{i}"] = delta.T @ inputs[i - 1]
            grads[f"b{i}"] = delta.sum(axis=0)
            if i == 1:
                grads["U"] = delta.T @ x
            delta = delta @ W
        return delta, grads


class MLPLayer:
    """The layer protocol of :mod:`deqverify.conformance.layer_protocol` for an MLP-tanh map."""

    name = "numpy-mlp-layer"
    declares = LayerDeclaration(backward="ift", dtypes=("float64", "float32"), weights=("W1",),
                                forward_tolerance="f_tol", iteration_cap="max_iter")
    defaults = {"f_tol": 1e-12, "b_tol": 1e-12, "max_iter": 500}

    def __init__(self, params: dict, depth: int = 3, settings: dict | None = None):
        self.depth = depth
        self._params = {name: np.array(value, dtype=float) for name, value in params.items()}
        self._settings = {**self.defaults, **(settings or {})}
        self.map = MLPMap(self._params, depth)
        self.state_shape = (self._params[f"W{depth}"].shape[0],)
        self.input_shape = (self._params["U"].shape[1],)

    @classmethod
    def random(cls, state=16, inputs=8, hidden=32, depth=3, contraction=0.6, seed=0):
        """Random weights with ∏‖W_i‖₂ = ``contraction``, so f is a contraction in z."""
        rng = np.random.default_rng(seed)
        sizes = [state] + [hidden] * (depth - 1) + [state]
        params = {"U": rng.standard_normal((hidden if depth > 1 else state, inputs)) / np.sqrt(inputs)}
        for i in range(1, depth + 1):
            W = rng.standard_normal((sizes[i], sizes[i - 1]))
            params[f"W{i}"] = W * contraction ** (1 / depth) / np.linalg.norm(W, 2)
            params[f"b{i}"] = 0.1 * rng.standard_normal(sizes[i])
        return cls(params, depth)

    # ---- the model --------------------------------------------------------------------
    def f(self, z, x):
        return self.map.f(z, x)

    def jvp_f(self, z, x, v):
        return self.map.jvp(z, x, v)

    def vjp_f(self, z, x, u):
        return self.map._backprop(z, x, u)[0]

    def vjp_f_params(self, z, x, u):
        return self.map._backprop(z, x, u)[1]

    def structure(self):
        """Optional: f as a chain of supported operations, h₁ = tanh(W₁z + Ux + b₁),
        hᵢ = tanh(Wᵢhᵢ₋₁ + bᵢ). With ``deqverify[certify]`` the checker holds it to f, then
        proves its reference fixed points (the report says "reference certified")."""
        return {"input": self._params["U"],
                "layers": [(self._params[f"W{i}"], self._params[f"b{i}"], "tanh") for i in range(1, self.depth + 1)]}

    # ---- the forward and backward under test ------------------------------------------
    def solve_status(self, x):
        x = np.asarray(x)
        dtype = x.dtype if x.dtype == np.float32 else np.float64
        x = x.astype(dtype)
        tol = max(self._settings["f_tol"], 8 * np.finfo(dtype).eps)  # reachable in this dtype
        z = np.zeros((x.shape[0], *self.state_shape), dtype=dtype)
        active = np.ones(x.shape[0], dtype=bool)
        for _ in range(self._settings["max_iter"]):
            if not active.any():
                break
            new = self.f(z[active], x[active])
            with np.errstate(invalid="ignore", over="ignore"):
                done = np.linalg.norm(new - z[active], axis=1) <= tol * np.maximum(1, np.linalg.norm(new, axis=1))
            z[active] = new
            active[np.flatnonzero(active)[done | ~np.all(np.isfinite(new), axis=1)]] = False
        converged = np.all(np.isfinite(z), axis=1)
        with np.errstate(invalid="ignore", over="ignore"):
            residual = np.linalg.norm(self.f(z, x) - z, axis=1)
            converged &= residual <= 2 * tol * np.maximum(1, np.linalg.norm(z, axis=1))
        return z, converged

    def solve(self, x):
        return self.solve_status(x)[0]

    def backward(self, x, g):
        x = np.asarray(x, dtype=float)
        z = self.solve(x)
        g = np.asarray(g, dtype=float)
        u = g.copy()
        scale = np.maximum(np.linalg.norm(g, axis=1), np.finfo(float).tiny)
        for _ in range(self._settings["max_iter"]):
            new = g + self.vjp_f(z, x, u)
            change = np.linalg.norm(new - u, axis=1)
            u = new
            if np.all(change <= self._settings["b_tol"] * scale):
                break
        return self.vjp_f_params(z, x, u)

    # ---- parameters and settings ------------------------------------------------------
    def parameters(self):
        return {name: value.copy() for name, value in self._params.items()}

    def with_parameters(self, params):
        return type(self)(params, self.depth, self._settings)

    def settings(self):
        return dict(self._settings)

    def with_settings(self, **changes):
        return type(self)(self._params, self.depth, {**self._settings, **changes})


def layer():
    """The layer ``deqverify check examples.numpy_mlp_layer:layer`` checks."""
    return MLPLayer.random()


def wide_layer():
    """State 64, hidden 64 (the size the battery's time budget is stated for)."""
    return MLPLayer.random(state=64, inputs=16, hidden=64, contraction=2.0)
