"""The layer battery's oracles as properties over generated layers (docs/theorems.md, "The
layer battery's oracles").

LAYER-PHANTOM  the reference's phantom(k, τ) adjoint (k iterated steps of B = τJ + (1−τ)I)
               equals the closed form (I − J)⁻ᵀ(I − Bᵏ)ᵀg (BWD-PHANTOM), and its gap to the
               exact adjoint obeys ‖τΣ_{i<k}Bⁱ − (I − J)⁻¹‖₂ ≤ (1 − τ + τγ)ᵏ/(1 − γ), ‖J‖₂ ≤ γ
LAYER-JFB      linear layers z = Wz + Ux: the Jacobian-free gradient Γ = Σᵢ gᵢxᵢᵀ and the
               exact ∇_U = (I − W)⁻ᵀΓ satisfy ⟨Γ, ∇_U⟩ ≥ (1 − ‖W‖₂)‖∇_U‖_F² (BWD-JFB)
LAYER-REF      the reference solve of a linear layer against the closed form (I − W)⁻¹(Ux + b),
               and its adjoint gradient against the closed-form gradient
"""

import numpy as np
from hypothesis import given, target
from hypothesis import strategies as st

from deqverify.conformance.layer_protocol import BackwardMode, LayerDeclaration
from deqverify.conformance.layer_reference import LayerMap, adjoint, solve

EPS = np.finfo(float).eps


class LinearLayer:
    """f(z, x) = Wz + Ux + b, with its exact derivatives."""

    declares = LayerDeclaration()

    def __init__(self, W, U, b):
        self.W, self.U, self.b = W, U, b
        self.state_shape, self.input_shape = (W.shape[0],), (U.shape[1],)

    def f(self, z, x):
        return z @ self.W.T + x @ self.U.T + self.b

    def jvp_f(self, z, x, v):
        return v @ self.W.T

    def vjp_f_params(self, z, x, u):
        return {"W": u.T @ z, "U": u.T @ x, "b": u.sum(axis=0)}

    def parameters(self):
        return {"W": self.W, "U": self.U, "b": self.b}

    def with_parameters(self, params):
        return LinearLayer(params["W"], params["U"], params["b"])


@st.composite
def linear_layers(draw):
    """A linear layer with ‖W‖₂ = γ ∈ [0, 0.99], a batch x and a cotangent g (from a seed)."""
    k, d, n = draw(st.integers(1, 8)), draw(st.integers(1, 5)), draw(st.integers(1, 12))
    gamma = draw(st.floats(0.0, 0.99))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    W = rng.standard_normal((k, k))
    W *= gamma / max(np.linalg.norm(W, 2), 1e-300)
    layer = LinearLayer(W, rng.standard_normal((k, d)), rng.standard_normal(k))
    return layer, gamma, rng.standard_normal((n, d)), rng.standard_normal((n, k))


@given(linear_layers(), st.integers(1, 40), st.floats(1e-3, 1.0))
def test_LAYER_PHANTOM_oracle_is_the_closed_form_and_obeys_its_bound(case, steps, tau):
    layer, gamma, x, g = case
    layer_map = LayerMap(layer, x, True)
    solution = solve(layer_map)
    k = layer.W.shape[0]
    I = np.eye(k)
    B = tau * layer.W + (1 - tau) * I
    closed = np.linalg.solve(I - layer.W, I - np.linalg.matrix_power(B, steps))
    u = g @ closed                                      # rows: gᵢᵀ(I − J)⁻¹(I − Bᵏ)
    expected = layer.vjp_f_params(solution.z, x, u)
    got = adjoint(solution, layer_map, g, BackwardMode("phantom", steps, tau)).gradient
    # k steps of a matrix with ‖B‖₂ ≤ 1 against one solve of condition ≤ 1/(1 − γ): each entry
    # of u carries ≤ (k + 4·k)·eps·‖g‖/(1 − γ) of rounding, times ‖z‖, ‖x‖, 1 in the products
    scale = (np.linalg.norm(g, axis=1, keepdims=True).max() / (1 - gamma)
             * max(np.abs(solution.z).max(), np.abs(x).max(), 1.0) * x.shape[0])
    for name in expected:
        assert np.max(np.abs(got[name] - expected[name]), initial=0.0) <= 8 * (steps + 4 * k) * EPS * scale
    # the truncation bound (BWD-PHANTOM): spectral norm of the gap to the exact inverse
    gap = np.linalg.norm(tau * sum(np.linalg.matrix_power(B, i) for i in range(steps)) - np.linalg.inv(I - layer.W), 2)
    bound = (1 - tau + tau * gamma) ** steps / (1 - gamma)
    target(float(gap / max(bound, 1e-300)), label="phantom gap / bound")
    assert gap <= bound * (1 + 1e-9) + 64 * steps * EPS / (1 - gamma)


@given(linear_layers())
def test_LAYER_JFB_is_a_descent_direction_with_the_stated_margin(case):
    layer, _, x, g = case
    layer_map = LayerMap(layer, x, True)
    solution = solve(layer_map)
    exact = adjoint(solution, layer_map, g, BackwardMode("ift")).gradient["U"]
    jfb = adjoint(solution, layer_map, g, BackwardMode("jfb")).gradient["U"]
    norm_W = np.linalg.norm(layer.W, 2)
    lower = (1 - norm_W) * np.sum(exact * exact)
    inner = float(np.sum(jfb * exact))
    target(float((lower - inner) / max(np.sum(exact * exact), 1e-300)), label="JFB margin deficit")
    # ⟨Γ, Y⟩ = tr(Yᵀ(I − W)Y) ≥ (1 − ‖W‖₂)‖Y‖²; the bound is attained (k = 1, W ≥ 0), so the
    # allowance is rounding: ≈ k·eps relative in the products, and ‖W‖₂ (an SVD: ≈ k·eps·‖W‖₂)
    # inside the cancellation 1 − ‖W‖₂, times ‖Y‖²
    k = layer.W.shape[0]
    assert inner >= lower - 16 * k * EPS * (np.sum(np.abs(jfb * exact)) + norm_W * np.sum(exact * exact)) - 1e-300


@given(linear_layers())
def test_LAYER_REF_linear_reference_against_closed_forms(case):
    layer, gamma, x, g = case
    layer_map = LayerMap(layer, x, True)
    solution = solve(layer_map)
    I = np.eye(layer.W.shape[0])
    truth = np.linalg.solve(I - layer.W, (x @ layer.U.T + layer.b).T).T
    scale = np.maximum(1.0, np.abs(truth).max())
    assert solution.all_converged
    # Newton on a linear map is one solve: rounding ≈ k·eps·cond·scale, cond ≤ 1/(1 − γ)
    assert np.max(np.abs(solution.z - truth)) <= 16 * layer.W.shape[0] * EPS * scale / (1 - gamma)
    u = np.linalg.solve((I - layer.W).T, g.T).T
    expected = {"W": u.T @ truth, "U": u.T @ x, "b": u.sum(axis=0)}
    got = adjoint(solution, layer_map, g, BackwardMode("ift")).gradient
    bound = 64 * layer.W.shape[0] * EPS * x.shape[0] / (1 - gamma) ** 2 * (
        np.abs(g).max() * max(scale, np.abs(x).max(), 1.0))
    for name in expected:
        assert np.max(np.abs(got[name] - expected[name])) <= bound
