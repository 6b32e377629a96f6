"""jaxopt 0.8: FixedPointIteration run on a batch as one fixed point (its documented usage for
a batched map) stops after one iteration when one input row is NaN: the batch-wide error is
NaN, the loop condition `error > tol` is False, and every clean row comes back unconverged
(no deqverify here). Usage: python jaxopt_nan_row_stops_the_batch.py (Python >= 3.12)"""
import jax
import jax.numpy as jnp
import jaxopt
import numpy as np

jax.config.update("jax_enable_x64", True)
rng = np.random.default_rng(0)
W = rng.standard_normal((4, 4)); W *= 0.9 / np.linalg.norm(W, 2)
U, x = rng.standard_normal((4, 3)), rng.standard_normal((8, 3))
solver = jaxopt.FixedPointIteration(fixed_point_fun=lambda z, x: jnp.tanh(z @ W.T + x @ U.T), tol=1e-10, maxiter=1000)
clean, clean_state = solver.run(jnp.zeros((8, 4)), x)
poisoned, state = solver.run(jnp.zeros((8, 4)), x.copy() * np.where(np.arange(8) == 5, np.nan, 1.0)[:, None])
others = np.arange(8) != 5
print("clean batch:    iterations", int(clean_state.iter_num), "error", float(clean_state.error))
print("one NaN row:    iterations", int(state.iter_num), "error", float(state.error))
print("largest change of a clean row:", float(np.max(np.abs(poisoned[others] - clean[others]))))
