"""optimistix: fixed_point on a batch as one problem with ImplicitAdjoint() and its default
linear solver: the backward's cost grows faster than the batch (it solves one dense system of
n·K unknowns), so doubling n multiplies the time by ≈ 4–8 (no deqverify here).
Usage: python optimistix_implicit_adjoint_batch_cost.py (Python >= 3.12)"""
import time
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx

jax.config.update("jax_enable_x64", True)
rng = np.random.default_rng(0)
W = rng.standard_normal((16, 16)); W *= 0.6 / np.linalg.norm(W, 2)
for n in (64, 128, 256, 512):
    x, g = jnp.asarray(rng.standard_normal((n, 16))), jnp.asarray(rng.standard_normal((n, 16)))
    solve = lambda W: optx.fixed_point(lambda z, W: jnp.tanh(z @ W.T + x), optx.FixedPointIteration(rtol=1e-12, atol=1e-12),
                                       jnp.zeros((n, 16)), args=W, adjoint=optx.ImplicitAdjoint(), max_steps=2000).value
    grad = jax.jit(jax.grad(lambda W: jnp.sum(solve(W) * g)))
    grad(jnp.asarray(W)).block_until_ready()                     # compile
    start = time.perf_counter(); grad(jnp.asarray(W)).block_until_ready()
    print(f"n = {n:4d}: gradient {time.perf_counter() - start:8.3f} s")
