"""The layer battery on PyTorch layers (``tox -e torch``; skipped without torch): the example
passes; a backward that crashes only in ``loss.backward()`` and a one-step gradient declared as
IFT fail the checks that name them; the same one-step gradient declared as JFB passes."""

import pytest

pytest.importorskip("torch")

from deqverify.conformance import check_implementation  # noqa: E402

TIMEOUT = 300.0  # seconds per check: torch calls are slower than numpy ones; a hang still ends


def records(spec, checks=None):
    report = check_implementation(spec, checks=checks, timeout=TIMEOUT)
    return report, {r.id: r for r in report.records}


@pytest.mark.parametrize("spec", ["tests.planted_torch_layers:layer", "tests.planted_torch_layers:jfb_declared_jfb"])
def test_correct_torch_layers_pass(spec):
    report, _ = records(spec, ["layer-gradient-exists", "layer-forward-residual", "layer-forward-accuracy",
                               "layer-backward", "layer-gradient-raw", "layer-nan", "layer-determinism"])
    assert report.exit_code == 0, report.table()


def test_a_backward_that_crashes_only_in_loss_backward_fails_gradient_exists():
    report, by_id = records("tests.planted_torch_layers:crashing_backward",
                            ["layer-forward-accuracy", "layer-gradient-exists"])
    assert by_id["layer-forward-accuracy"].status == "passed", report.table()
    record = by_id["layer-gradient-exists"]
    assert record.status == "failed" and "unexpected keyword argument 'tol'" in record.note, report.table()


def test_a_one_step_gradient_declared_ift_is_named_as_jfb():
    report, by_id = records("tests.planted_torch_layers:jfb_declared_ift", ["layer-backward"])
    record = by_id["layer-backward"]
    assert record.status == "failed" and "declared ift, but the backward matches JFB" in record.note, report.table()
