"""The layer battery on a JAX layer (``tox -e jax``; skipped without JAX): the tutorial
pattern — an uncapped ``lax.while_loop`` forward with a ``custom_vjp`` backward — is exact
where its map contracts, and its hang past the contraction limit is a failed check with the
reason, not a hung checker; and a NaN row ends the loop for the whole batch, since its test
is one maximum over the batch (NaN > tol is false)."""

import pytest

pytest.importorskip("jax")

from deqverify.conformance import check_implementation  # noqa: E402

SPEC = "tests.planted_jax_layers:tutorial_layer"


def records(checks, timeout):
    report = check_implementation(SPEC, checks=checks, timeout=timeout)
    return report, {r.id: r for r in report.records}


def test_the_tutorial_layer_is_exact_where_its_map_contracts():
    report, _ = records(["layer-gradient-exists", "layer-forward-residual", "layer-forward-accuracy",
                         "layer-backward", "layer-gradient-raw", "layer-determinism"], 300.0)
    assert report.exit_code == 0, report.table()


def test_the_tutorial_layer_hangs_past_the_contraction_limit_and_the_check_says_so():
    report, by_id = records(["layer-instability"], 5.0)  # a busy hang ends after 20 windows: 100 s
    record = by_id["layer-instability"]
    assert record.status == "failed" and "timeout" in record.note, report.table()


def test_a_nan_row_stops_the_tutorial_loop_for_every_row():
    report, by_id = records(["layer-nan"], 300.0)
    record = by_id["layer-nan"]
    assert record.status == "failed" and "the NaN spread through the batch" in record.note, report.table()


def test_the_jax_convolutional_block_is_the_documented_map():
    """conv_map against a numpy twin (scipy's 2-D cross-correlation with zero padding, group
    statistics by hand), and K_z's operator norm on 4×4 images is the declared 0.8."""
    import numpy as np
    from scipy.signal import correlate2d

    from deqverify.conformance.adapters import jax_layers as J

    params = J.conv_params(seed=3)
    rng = np.random.default_rng(4)
    z, x = rng.standard_normal((3, 4, 4, 4)), rng.standard_normal((3, 2, 4, 4))

    def convolve(image, kernel, bias):
        return np.stack([[sum(correlate2d(image[n, i], kernel[o, i], mode="same") for i in range(image.shape[1]))
                          + bias[o] for o in range(kernel.shape[0])] for n in range(len(image))])

    h = convolve(x, params["Kx"], params["bx"]).reshape(3, 2, 2, 4, 4)
    normed = ((h - h.mean(axis=(2, 3, 4), keepdims=True))
              / np.sqrt(h.var(axis=(2, 3, 4), keepdims=True) + 1e-5)).reshape(3, 4, 4, 4)
    expected = np.tanh(convolve(z, params["Kz"], params["bz"]) + normed)
    assert np.max(np.abs(np.asarray(J.conv_map(params, z, x)) - expected)) < 1e-13  # a few roundings of O(1) sums

    basis = np.eye(64).reshape(64, 4, 4, 4)
    operator = convolve(basis, params["Kz"], np.zeros(4)).reshape(64, 64)
    assert abs(np.linalg.norm(operator, 2) - J.CONV_COUPLING) < 1e-12  # scaled to it, up to rounding
