"""Layer battery (issue 19): the checker's reference for a layer — Newton on dense per-sample
Jacobians from K Jacobian-vector products, then the exact adjoint — against the layer's own
forward + backward, on a 3-layer MLP-tanh DEQ with state K = 64 and a batch of 256.

Asserted: reference ÷ (layer forward + backward) ≤ 20, both timed in the same run (medians).
Measured here: 7–13 for contractions ∏‖Wᵢ‖₂ ∈ {0.9, 2, 3} (ρ(J) at z* 0.12–0.38; the example's
fixed-point iteration needs more steps as ρ grows, the reference's Newton 3–4 either way).
"""

import numpy as np
import pytest
from test_solver_speed import median_seconds

from deqverify.conformance.layer_reference import LayerMap, adjoint, solve
from examples.numpy_mlp_layer import MLPLayer

TARGET = 20.0


@pytest.mark.parametrize("contraction", [0.9, 2.0, 3.0])
def test_layer_reference_cost_against_the_layer_itself(benchmark, contraction):
    layer = MLPLayer.random(state=64, inputs=16, hidden=64, contraction=contraction)
    rng = np.random.default_rng(1)
    x, g = rng.standard_normal((256, 16)), rng.standard_normal((256, 64))

    def reference():
        layer_map = LayerMap(layer, x, True)
        return adjoint(solve(layer_map), layer_map, g, layer.declares.backward)

    benchmark.pedantic(reference, rounds=3, iterations=1)
    own = median_seconds(lambda: (layer.solve(x), layer.backward(x, g)), repeats=5)
    ratio = benchmark.stats.stats.median / own
    benchmark.extra_info["ratio_to_layer"] = ratio
    print(f"contraction {contraction}: reference = {ratio:.1f} × the layer's forward + backward")
    assert ratio <= TARGET
