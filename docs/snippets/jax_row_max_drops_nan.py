"""jax 0.12.0.1 on CPU: a row-wise max over a (n, 16) array drops a NaN once n >= 256 (no deqverify
here). optimistix's per-sample fixed point (under jax.vmap) tests convergence with such a max, so
at a batch of 256 a sample whose state is NaN comes back with result == successful (its value
is NaN, so it is not a silent wrong number, but its status is). Usage: python jax_row_max_drops_nan.py
"""
import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)
for n in (128, 255, 256, 512):
    x = np.ones((n, 16))
    x[3, 5] = np.nan
    row_max = jnp.max(jnp.abs(jnp.asarray(x)), axis=1)
    print(f"n = {n:3d}: max of row 3 = {float(row_max[3])} (numpy: {np.max(np.abs(x), axis=1)[3]})")
