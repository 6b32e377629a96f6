"""jaxopt 0.8: FixedPointIteration(implicit_diff=True) differentiates through a normal-equation CG
solve at JAX's default tolerance (1e-5), whatever the forward's tol: the gradient is ~1e-6
relative off the exact implicit gradient even at tol=1e-12, and exact once the tangent solve
is given a tolerance (no deqverify here). Usage: python jaxopt_implicit_diff_cg_tolerance.py"""
import functools
import jax
import jax.numpy as jnp
import jaxopt
import numpy as np

jax.config.update("jax_enable_x64", True)
rng = np.random.default_rng(0)
W0 = rng.standard_normal((16, 16)); W0 *= 0.9 / np.linalg.norm(W0, 2)
x, g = rng.standard_normal((64, 16)), rng.standard_normal((64, 16))
fun = lambda z, W: jnp.tanh(z @ W.T + x)
for label, extra in (("default tangent solve", {}), ("CG at tol 1e-12", {"implicit_diff_solve": functools.partial(jaxopt.linear_solve.solve_normal_cg, tol=1e-12)})):
    solver = jaxopt.FixedPointIteration(fixed_point_fun=fun, tol=1e-12, maxiter=5000, **extra)
    grad = jax.grad(lambda W: jnp.sum(solver.run(jnp.zeros((64, 16)), W).params * g))(jnp.asarray(W0))
    z = np.asarray(solver.run(jnp.zeros((64, 16)), jnp.asarray(W0)).params)
    D = 1 - np.tanh(z @ W0.T + x) ** 2                       # exact: u_i = (I − D_i W)^{-T} g_i
    u = np.stack([np.linalg.solve((np.eye(16) - D[i][:, None] * W0).T, g[i]) for i in range(64)])
    exact = (u * D).T @ z
    print(f"{label:22s} max|jaxopt − exact| / max|exact| = {np.max(np.abs(grad - exact)) / np.max(np.abs(exact)):.2g}")
