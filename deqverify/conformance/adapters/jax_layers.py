"""jaxopt and optimistix as DEQ layers (the layer protocol), on an MLP-tanh map written in
``jax.numpy`` (state 16, input 8, hidden 32; the same construction as
:class:`.torch_maps.MLPTanhMap`: ∏‖Wᵢ‖₂ = 0.6). Requires the ``jax`` extra (Python ≥ 3.12).

* ``jaxopt-layer``: ``jaxopt.FixedPointIteration(implicit_diff=True)`` at its defaults
  (maxiter 100, tol 1e-5) on the whole batch as one fixed point; declared ``ift`` (what
  ``implicit_diff`` computes, by its default tangent solve); status: jaxopt's ``state.error``.
* ``jaxopt-layer-tight``: the same at tol 1e-12, maxiter 2000.
* ``jaxopt-layer-exact``: tight, and the implicit-diff tangent solve (normal CG) at tol 1e-12.
* ``optimistix-layer``: ``optimistix.fixed_point`` with ``FixedPointIteration(rtol, atol =
  1e-12)`` and ``ImplicitAdjoint()`` (its default linear solver, dense for this problem) on
  the whole batch as one fixed point; status: the solve's ``result``.
* ``optimistix-layer-per-sample``: the same solve and adjoint, one fixed point per sample under
  ``jax.vmap`` (how the scalar and vector optimistix adapters run): per-sample statuses.
* ``jaxopt-layer-monotone-safe`` and ``optimistix-layer-monotone-safe``: the tight
  configurations on the monotone-operator layer z = relu(Wz + Ux + b), W = (1 − m)I − AᵀA +
  B − Bᵀ, iterated as forward–backward splitting at the safe step α = m/‖I − W‖₂² (the
  parameterisation of :class:`.torch_maps.MonotoneSplittingMap`, drawn with numpy).
* ``jaxopt-layer-conv`` and ``optimistix-layer-conv``: the tight configurations on the
  convolutional block f(z, x) = tanh(K_z * z + GroupNorm(K_x * x)) of
  :class:`.torch_maps.ConvGroupNormMap` (state (4, 4, 4), input (2, 4, 4)). optimistix's
  default dense tangent solve would factor one (64n)×(64n) matrix for a batch of n (2 GiB at
  n = 256), so this configuration passes ``ImplicitAdjoint(linear_solver=lineax.GMRES(rtol =
  atol = 1e-12))``, the iterative solve a user picks at this size.
"""

from __future__ import annotations

import numpy as np

from deqverify.conformance.adapters.jax_common import jax_modules
from deqverify.conformance.adapters.jax_layer import JaxLayer
from deqverify.conformance.layer_protocol import LayerDeclaration

STATE, INPUT, HIDDEN, CONTRACTION = 16, 8, 32, 0.6


def mlp_params(seed=0) -> dict:
    rng = np.random.default_rng(seed)
    params = {"U": rng.standard_normal((HIDDEN, INPUT)) / np.sqrt(INPUT)}
    for name, shape in (("W1", (HIDDEN, STATE)), ("W2", (HIDDEN, HIDDEN)), ("W3", (STATE, HIDDEN))):
        W = rng.standard_normal(shape)
        params[name] = W * CONTRACTION ** (1 / 3) / np.linalg.norm(W, 2)
        params["b" + name[1]] = 0.1 * rng.standard_normal(shape[0])
    return params


def mlp_map(params, z, x):
    """f(z, x) = tanh(W₃ tanh(W₂ tanh(W₁z + Ux + b₁) + b₂) + b₃), batched over rows."""
    _, jnp = jax_modules()
    hidden = jnp.tanh(z @ params["W1"].T + x @ params["U"].T + params["b1"])
    hidden = jnp.tanh(hidden @ params["W2"].T + params["b2"])
    return jnp.tanh(hidden @ params["W3"].T + params["b3"])


MONOTONE_M, MONOTONE_STATE = 1.5, 16


def monotone_params(seed=0) -> dict:
    """A, B (scales 0.6 and 0.2), U and b as in :class:`.torch_maps.MonotoneSplittingMap`."""
    rng = np.random.default_rng(seed)
    k = MONOTONE_STATE
    return {"A": 0.6 * rng.standard_normal((k, k)) / np.sqrt(k), "B": 0.2 * rng.standard_normal((k, k)) / np.sqrt(k),
            "U": rng.standard_normal((k, INPUT)) / np.sqrt(INPUT), "b": 0.1 * rng.standard_normal(k)}


def _monotone_W(params, eye):
    return (1 - MONOTONE_M) * eye - params["A"].T @ params["A"] + params["B"] - params["B"].T


def monotone_map(alpha: float):
    """f(z, x) = relu((1 − α)z + α(Wz + Ux + b)), batched over rows (same fixed points for any α)."""
    def f(params, z, x):
        _, jnp = jax_modules()
        W = _monotone_W(params, jnp.eye(MONOTONE_STATE))
        return jnp.maximum((1 - alpha) * z + alpha * (z @ W.T + x @ params["U"].T + params["b"]), 0.0)
    return f


def safe_step(params) -> float:
    """α = m/‖I − W‖₂² at the layer's initial parameters (MON-WP's contraction step)."""
    W = _monotone_W({k: np.asarray(v) for k, v in params.items()}, np.eye(MONOTONE_STATE))
    return MONOTONE_M / np.linalg.norm(np.eye(MONOTONE_STATE) - W, 2) ** 2


def _declaration(tol: float):
    """float32 is declared only where the tolerance is reachable in float32 (eps₃₂ = 1.2e-7):
    at 1e-12 a float32 solve can only flag every sample."""
    dtypes = ("float64", "float32") if tol >= 1e-6 else ("float64",)
    return LayerDeclaration(backward="ift", weights=("W1",), forward_tolerance="tol",
                            iteration_cap="maxiter", dtypes=dtypes)


def _jaxopt_solvers(settings, fmap=mlp_map, state=(STATE,)):
    import functools

    import jaxopt

    _, jnp = jax_modules()
    options = {"maxiter": settings["maxiter"], "tol": settings["tol"]}
    if settings.get("tangent_tol") is not None:  # jaxopt's default: normal CG at JAX's tol 1e-5
        options["implicit_diff_solve"] = functools.partial(jaxopt.linear_solve.solve_normal_cg,
                                                           tol=settings["tangent_tol"])

    def run(params, x):
        solver = jaxopt.FixedPointIteration(fixed_point_fun=lambda z, p: fmap(p, z, x),
                                            implicit_diff=True, **options)
        return solver.run(jnp.zeros((x.shape[0], *state), dtype=x.dtype), params)

    def solve(params, x):
        return run(params, x).params

    def status(params, x):
        z, state = run(params, x)
        ok = jnp.isfinite(state.error) & (state.error <= settings["tol"])  # one verdict for the batch
        return z, jnp.broadcast_to(ok, (x.shape[0],))

    return solve, status


def jaxopt_layer(settings=None, name="jaxopt-layer"):
    settings = {"maxiter": 100, "tol": 1e-5, **(settings or {})}
    solve, status = _jaxopt_solvers(settings)
    return JaxLayer(mlp_map, solve, mlp_params(), declares=_declaration(settings["tol"]), input_shape=(INPUT,),
                    state_shape=(STATE,), status=status, settings=settings, rebuild=_jaxopt_solvers,
                    name=name)


def jaxopt_tight_layer():
    return jaxopt_layer({"maxiter": 2000, "tol": 1e-12}, name="jaxopt-layer-tight")


def jaxopt_exact_layer():
    """The tight forward and a tangent solve at 1e-12 (``implicit_diff_solve``)."""
    return jaxopt_layer({"maxiter": 2000, "tol": 1e-12, "tangent_tol": 1e-12}, name="jaxopt-layer-exact")


def _optimistix_solvers(settings, fmap=mlp_map, state=(STATE,)):
    import optimistix as optx

    _, jnp = jax_modules()
    linear_solver = None
    if settings.get("tangent_tol") is not None:  # optimistix's default: a dense LU of the whole batch
        import lineax

        linear_solver = lineax.GMRES(rtol=settings["tangent_tol"], atol=settings["tangent_tol"])

    def run(params, x):
        solver = optx.FixedPointIteration(rtol=settings["tol"], atol=settings["tol"])
        adjoint = optx.ImplicitAdjoint(**({} if linear_solver is None else {"linear_solver": linear_solver}))
        return optx.fixed_point(lambda z, p: fmap(p, z, x), solver,
                                jnp.zeros((x.shape[0], *state), dtype=x.dtype), args=params,
                                adjoint=adjoint, max_steps=settings["maxiter"], throw=False)

    def solve(params, x):
        return run(params, x).value

    def status(params, x):
        solution = run(params, x)
        return solution.value, jnp.broadcast_to(solution.result == optx.RESULTS.successful, (x.shape[0],))

    return solve, status


def _optimistix_per_sample_solvers(settings, fmap=mlp_map, state=(STATE,)):
    """optimistix's fixed point of one sample at a time, under ``jax.vmap``: each sample has
    its own stopping test, status and (dense K×K) tangent solve."""
    import optimistix as optx

    jax, jnp = jax_modules()

    def run_one(params, x_row):
        solver = optx.FixedPointIteration(rtol=settings["tol"], atol=settings["tol"])
        return optx.fixed_point(lambda z, p: fmap(p, z[None], x_row[None])[0], solver,
                                jnp.zeros(state, dtype=x_row.dtype), args=params,
                                adjoint=optx.ImplicitAdjoint(), max_steps=settings["maxiter"], throw=False)

    def solve(params, x):
        return jax.vmap(lambda row: run_one(params, row).value)(x)

    def status(params, x):
        solution = jax.vmap(lambda row: run_one(params, row))(x)
        return solution.value, solution.result == optx.RESULTS.successful

    return solve, status


def optimistix_per_sample_layer():
    """optimistix at rtol = atol = 1e-12 with ImplicitAdjoint, one fixed point per sample
    (``jax.vmap``), on the MLP-tanh map."""
    settings = {"maxiter": 2000, "tol": 1e-12}
    solve, status = _optimistix_per_sample_solvers(settings)
    return JaxLayer(mlp_map, solve, mlp_params(), declares=_declaration(settings["tol"]), input_shape=(INPUT,),
                    state_shape=(STATE,), status=status, settings=settings, rebuild=_optimistix_per_sample_solvers,
                    name="optimistix-layer-per-sample")


def optimistix_layer():
    settings = {"maxiter": 2000, "tol": 1e-12}
    solve, status = _optimistix_solvers(settings)
    return JaxLayer(mlp_map, solve, mlp_params(), declares=_declaration(settings["tol"]), input_shape=(INPUT,),
                    state_shape=(STATE,), status=status, settings=settings, rebuild=_optimistix_solvers,
                    name="optimistix-layer")


def _monotone_layer(solvers, settings, name):
    import functools

    params = monotone_params()
    fmap = monotone_map(safe_step(params))
    rebuild = functools.partial(solvers, fmap=fmap, state=(MONOTONE_STATE,))
    solve, status = rebuild(settings)
    declares = LayerDeclaration(backward="ift", weights=("A",), forward_tolerance="tol", iteration_cap="maxiter")
    return JaxLayer(fmap, solve, params, declares=declares, input_shape=(INPUT,), state_shape=(MONOTONE_STATE,),
                    status=status, settings=settings, rebuild=rebuild, name=name)


def jaxopt_monotone_safe_layer():
    """jaxopt at tol 1e-12 with a tangent solve at 1e-12, on the monotone layer at a safe α."""
    return _monotone_layer(_jaxopt_solvers, {"maxiter": 2000, "tol": 1e-12, "tangent_tol": 1e-12},
                           "jaxopt-layer-monotone-safe")


def optimistix_monotone_safe_layer():
    """optimistix at rtol = atol = 1e-12 with ImplicitAdjoint, on the monotone layer at a safe α."""
    return _monotone_layer(_optimistix_solvers, {"maxiter": 2000, "tol": 1e-12}, "optimistix-layer-monotone-safe")


CONV_CHANNELS, CONV_INPUTS, CONV_SIZE, CONV_GROUPS, CONV_COUPLING = 4, 2, 4, 2, 0.8


def _convolve(image, kernel, bias):
    """3×3 cross-correlation with zero padding (``Conv2d(padding=1)``), NCHW, plus the bias."""
    jax, _ = jax_modules()
    out = jax.lax.conv_general_dilated(image, kernel, window_strides=(1, 1), padding="SAME",
                                       dimension_numbers=("NCHW", "OIHW", "NCHW"))
    return out + bias[:, None, None]


def _group_norm(h, scale, shift, eps=1e-5):
    """GroupNorm (torch's ε = 1e-5): each sample's channel groups to mean 0, variance 1."""
    _, jnp = jax_modules()
    n, c, height, width = h.shape
    grouped = h.reshape(n, CONV_GROUPS, c // CONV_GROUPS, height, width)
    mean = grouped.mean(axis=(2, 3, 4), keepdims=True)
    var = ((grouped - mean) ** 2).mean(axis=(2, 3, 4), keepdims=True)
    normed = ((grouped - mean) / jnp.sqrt(var + eps)).reshape(h.shape)
    return normed * scale[:, None, None] + shift[:, None, None]


def conv_map(params, z, x):
    """f(z, x) = tanh(K_z * z + GroupNorm(K_x * x)), batched over the leading axis."""
    _, jnp = jax_modules()
    injection = _group_norm(_convolve(x, params["Kx"], params["bx"]), params["gamma"], params["beta"])
    return jnp.tanh(_convolve(z, params["Kz"], params["bz"]) + injection)


def conv_params(seed=0) -> dict:
    """Kernels ~ N(0, 1/fan-in), biases ~ N(0, 0.01), GroupNorm's affine at (1, 0); K_z scaled so
    that its operator norm on 4×4 images is ``CONV_COUPLING`` (f contracts in z at 0.8)."""
    _, jnp = jax_modules()
    rng = np.random.default_rng(seed)
    c, d, size = CONV_CHANNELS, CONV_INPUTS, CONV_SIZE
    params = {"Kz": rng.standard_normal((c, c, 3, 3)) / np.sqrt(9 * c), "bz": 0.1 * rng.standard_normal(c),
              "Kx": rng.standard_normal((c, d, 3, 3)) / np.sqrt(9 * d), "bx": 0.1 * rng.standard_normal(c),
              "gamma": np.ones(c), "beta": np.zeros(c)}
    basis = jnp.eye(c * size * size).reshape(-1, c, size, size)
    operator = np.asarray(_convolve(basis, jnp.asarray(params["Kz"]), jnp.zeros(c))).reshape(len(basis), -1)
    params["Kz"] = params["Kz"] * CONV_COUPLING / np.linalg.norm(operator, 2)
    return params


def _conv_layer(solvers, settings, name):
    import functools

    state = (CONV_CHANNELS, CONV_SIZE, CONV_SIZE)
    rebuild = functools.partial(solvers, fmap=conv_map, state=state)
    solve, status = rebuild(settings)
    declares = LayerDeclaration(backward="ift", weights=("Kz",), forward_tolerance="tol", iteration_cap="maxiter")
    return JaxLayer(conv_map, solve, conv_params(), declares=declares, input_shape=(CONV_INPUTS, CONV_SIZE, CONV_SIZE),
                    state_shape=state, status=status, settings=settings, rebuild=rebuild, name=name)


def jaxopt_conv_layer():
    """jaxopt at tol 1e-12 with a tangent solve at 1e-12, on the convolutional block."""
    return _conv_layer(_jaxopt_solvers, {"maxiter": 2000, "tol": 1e-12, "tangent_tol": 1e-12}, "jaxopt-layer-conv")


def optimistix_conv_layer():
    """optimistix at rtol = atol = 1e-12 with ImplicitAdjoint through GMRES at 1e-12, on the
    convolutional block."""
    return _conv_layer(_optimistix_solvers, {"maxiter": 2000, "tol": 1e-12, "tangent_tol": 1e-12},
                       "optimistix-layer-conv")
