"""A clean-room analog of the JAX tutorial DEQ layer (written from its description, no code
copied): the forward iterates z ← f(z) in ``lax.while_loop`` until max|z − z_prev| ≤ tol, with
no iteration cap, and a ``jax.custom_vjp`` backward solves u = g + Jᵀu by the same uncapped
loop. Correct wherever f contracts; where the iteration settles on a 2-cycle (ρ(∂f/∂z) > 1,
an oscillating map) the forward never ends — inside XLA, where no Python signal reaches it;
and the test is one maximum over the batch, so a NaN row (NaN > tol is false) ends the loop
for every row after one step. Run by ``tests/test_jax_layers.py`` (``tox -e jax``)."""

from deqverify.conformance.adapters.jax_common import jax_modules
from deqverify.conformance.adapters.jax_layer import JaxLayer
from deqverify.conformance.adapters.jax_layers import INPUT, STATE, mlp_map, mlp_params
from deqverify.conformance.layer_protocol import LayerDeclaration

TOL = 1e-12


def _uncapped_fixed_point(step, start):
    jax, jnp = jax_modules()

    def not_done(carry):
        previous, current = carry
        return jnp.max(jnp.abs(current - previous)) > TOL

    def advance(carry):
        return carry[1], step(carry[1])

    return jax.lax.while_loop(not_done, advance, (start, step(start)))[1]


def _tutorial_solve():
    jax, jnp = jax_modules()

    @jax.custom_vjp
    def solve(params, x):
        return _uncapped_fixed_point(lambda z: mlp_map(params, z, x), jnp.zeros((x.shape[0], STATE), x.dtype))

    def forward(params, x):
        z = solve(params, x)
        return z, (params, x, z)

    def backward(saved, g):
        params, x, z = saved
        _, pull_z = jax.vjp(lambda state: mlp_map(params, state, x), z)
        u = _uncapped_fixed_point(lambda w: pull_z(w)[0] + g, g)
        _, pull_params = jax.vjp(lambda p: mlp_map(p, z, x), params)
        return pull_params(u)[0], jnp.zeros_like(x)

    solve.defvjp(forward, backward)
    return solve


def tutorial_layer():
    """The tutorial layer on the MLP-tanh map of the jaxopt/optimistix layers; declared ift."""
    return JaxLayer(mlp_map, _tutorial_solve(), mlp_params(), name="jax-tutorial-layer",
                    declares=LayerDeclaration(backward="ift", weights=("W1",)),
                    input_shape=(INPUT,), state_shape=(STATE,))
