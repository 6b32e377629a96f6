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
