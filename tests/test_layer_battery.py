"""The layer battery: correct layers declaring every backward mode pass it, and each planted
defect fails the check that names it, with a message that says what is wrong."""

import numpy as np
import planted_layers as pl
import pytest

from deqverify.conformance import CHECKS, Capabilities, check_implementation
from deqverify.conformance.checks.layer_common import layer_inputs, reference
from deqverify.conformance.layer_protocol import BackwardMode, LayerDeclaration
from deqverify.conformance.layer_reference import LayerMap, adjoint, solve
from deqverify.core.errors import InvalidInputError
from examples.numpy_mlp_layer import MLPLayer

LAYER_CHECKS = [i for i in CHECKS if i.startswith("layer-")]
TIMEOUT = 60.0
"""Seconds per check: the slowest (the sweep, resources) take 1–3 s here; a loaded CI machine
gets a factor 20. Only the hanging tutorial loop waits out its own, shorter timeout."""


def records(report):
    return {r.id: r for r in report.records}


CORRECT = [MLPLayer.random(), pl.TanhLayer(), pl.PhantomLayer(), pl.JFBLayer(), pl.UnrolledLayer(),
           pl.CoupledLayer(), pl.MonotoneLayer(), pl.LooseTolerance(), pl.LooseForwardIFT()]
SKIPS = {  # check → why a correct layer of this kind has nothing to check there
    "layer-float32": ("float32 not declared",),
    "layer-tolerance-coupling": ("no forward tolerance setting declared", "backward declared"),
    "layer-batch-independence": ("batch declared coupled",),
    "layer-instability": ("no weights declared",),
    "layer-settings": ("the layer cannot tell which settings its library read",),
}


@pytest.mark.parametrize("layer", CORRECT, ids=[getattr(c, "name") for c in CORRECT])
def test_correct_layers_pass_every_layer_check(layer):
    report = check_implementation(layer, timeout=TIMEOUT)
    assert report.exit_code == 0, report.table()
    by_id = records(report)
    for check_id in LAYER_CHECKS + ["protocol", "no-mutation"]:
        record = by_id[check_id]
        if record.status == "skipped":
            assert record.note.startswith(SKIPS.get(check_id, ("(not allowed to skip)",))), record.note
        else:
            assert record.status == "passed", report.table()
    # a layer is not a scalar or vector implementation: those checks are skipped, not passed
    assert all(by_id[i].status == "skipped" for i in CHECKS if not i.startswith("layer-")
               and i not in ("protocol", "no-mutation"))
    assert "layer summary:" in report.table()


CAUGHT = [
    (pl.TutorialLinear(), ["layer-instability"], "overflowed (inf, or f(z) overflows) yet presented as fixed points"),
    (pl.SloppyFloat32(), ["layer-float32"], "ulp"),
    (pl.BatchNormStopping(), ["layer-forward-residual", "layer-nan"], "one norm over the whole batch"),
    (pl.NaNZeroingBroyden(), ["layer-nan"], "NaN was zeroed"),
    (pl.MutatesInput(), ["no-mutation"], "solve changed its argument x"),
    (pl.NonDeterministic(), ["layer-determinism"], "max difference"),
    (pl.BatchLeak(), ["layer-batch-independence"], "change of a state with the batch"),
    (pl.ClassAttributeSettings(), ["layer-instances"], "shared state"),
    (pl.MonotoneAlphaOne(), ["layer-forward-residual", "layer-forward-accuracy"], "presented as converged 1"),
    (pl.BackwardCrashes(), ["layer-gradient-exists"], "backward raised: TypeError"),
    (pl.BackwardTiedToForwardTolerance(), ["layer-backward", "layer-tolerance-coupling"],
     "tied to the forward tolerance setting 'f_tol'"),
    (pl.JFBDeclaredIFT(), ["layer-backward", "layer-gradient-raw"], "declared ift, but the backward matches JFB"),
    (pl.ProjectionLeftOut(), ["layer-gradient-raw", "layer-map-derivatives"], "projection"),
    (pl.WrongParameterVJP(), ["layer-map-derivatives", "layer-gradient-raw"], "vjp_f_params"),
    (pl.StoredTraces(), ["layer-resources"], "(1.0"),  # one iterate kept per iteration: 1.00–1.01
    (pl.DenseBatchBackward(), ["layer-resources"], "time exponent"),
    (pl.NegatedJFB(), ["layer-backward"], "not a descent direction"),
    (pl.FlagHidesWrongGradient(), ["layer-backward", "layer-forward-accuracy"], "although the reference solves it"),
    (pl.MeanNotSumGradient(), ["layer-batch-independence"], "gradient of the batch vs the sum of its halves"),
    (pl.NaNVJP(), ["layer-map-derivatives"], "vjp_f nan"),
    (pl.NaNGradient(), ["layer-gradient-exists"], "non-finite gradient for ['W1']"),
    (pl.TruncatedUnrolled(), ["layer-backward"], "against central differences of solve"),
    (pl.WrongJVP(), ["layer-map-derivatives"], "jvp_f"),
    (pl.IgnoredSetting(), ["layer-settings"], "['stop_mode'] had no effect"),
    (pl.MutatesOwnParameters(), ["no-mutation"], "backward changed the layer's parameter 'W1'"),
]


@pytest.mark.parametrize("layer, check_ids, phrase", CAUGHT, ids=[c[0].name for c in CAUGHT])
def test_planted_layer_fails_the_check_that_names_its_defect(layer, check_ids, phrase):
    report = check_implementation(layer, checks=check_ids, timeout=TIMEOUT)
    by_id = records(report)
    assert by_id["protocol"].status == "passed", report.table()
    for check_id in check_ids:
        assert by_id[check_id].status == "failed", report.table()
    assert any(phrase in by_id[i].note for i in check_ids), report.table()
    assert report.exit_code == 1


def test_layer_nan_does_not_blame_the_nan_for_flags_the_clean_batch_raises_too():
    """A layer that flags the samples it cannot solve in every batch keeps them flagged beside
    a NaN row: layer-nan passes (layer-forward-accuracy is what fails it)."""
    layer = pl.GivesUpOnSomeSamples()
    x, _ = layer_inputs(layer, n=16, seed=3)
    assert 0 < np.sum(x[:, 0] > 0.5) < 15  # some samples given up on, some solved
    by_id = records(check_implementation(layer, checks=["layer-nan", "layer-forward-accuracy"], timeout=TIMEOUT))
    assert by_id["layer-nan"].status == "passed", by_id["layer-nan"].note
    assert by_id["layer-forward-accuracy"].status == "failed"
    assert "flagged or non-finite although the reference solves it" in by_id["layer-forward-accuracy"].note


def test_the_uncapped_tutorial_loop_is_a_failed_check_not_a_hung_checker():
    """Plain iteration oscillates on a bounded 2-cycle when the weights are scaled past ρ = 1:
    the loop never ends, the check times out and names the sweep point it was at."""
    report = check_implementation(pl.TutorialLoop(), checks=["layer-instability"], timeout=10)
    record = records(report)["layer-instability"]
    assert record.status == "failed"
    assert "timeout in layer-instability" in record.note and "calling solve" in record.note


def test_phantom_declared_layer_fails_when_it_declares_ift_and_passes_as_phantom():
    """The declared mode is the oracle: the same backward passes as phantom(5, 0.5) and fails
    as ift, with the note naming the distance to each."""
    as_ift = type("PhantomAsIFT", (pl.PhantomLayer,), {"declares": pl.TanhLayer.declares, "name": "phantom-as-ift"})()
    record = records(check_implementation(as_ift, checks=["layer-backward"], timeout=TIMEOUT))["layer-backward"]
    assert record.status == "failed" and "error against ift" in record.note
    record = records(check_implementation(pl.PhantomLayer(), checks=["layer-backward"], timeout=TIMEOUT))["layer-backward"]
    assert record.status == "passed" and "phantom(k=5, τ=0.5)" in record.note


# ---- the reference ------------------------------------------------------------------------

def test_reference_phantom_oracle_is_the_closed_form_identity():
    """BWD-PHANTOM: τΣ_{i<k}Bⁱ = (I − J)⁻¹(I − Bᵏ); the oracle's adjoint vector (iterated)
    against the closed form with the reference's own J, to rounding."""
    layer = pl.TanhLayer()
    x, g = layer_inputs(layer, n=8)
    layer_map = LayerMap(layer, x, True)
    solution = solve(layer_map)
    k, tau = 7, 0.3
    J = solution.jacobian
    B = tau * J + (1 - tau) * np.eye(J.shape[1])
    closed = np.linalg.solve(np.eye(J.shape[1]) - J, np.eye(J.shape[1]) - np.linalg.matrix_power(B, k))
    u = np.einsum("nji,nj->ni", closed, g)
    expected = layer.vjp_f_params(solution.z, x, u)
    got = adjoint(solution, layer_map, g, BackwardMode("phantom", k, tau)).gradient
    for name in expected:
        assert np.allclose(got[name], expected[name], rtol=1e-12, atol=1e-13 * np.abs(expected[name]).max())


def test_reference_without_derivatives_agrees_with_the_layers_own():
    """Central differences of f (no jvp_f, no vjp_f_params) give the same root and an IFT
    gradient within ≈ eps^(2/3)·cond of the analytic one; the coupled (one block) view of an
    independent layer gives the same answer as the per-sample view."""
    layer = pl.TanhLayer()

    class Bare:
        declares, state_shape, input_shape = layer.declares, layer.state_shape, layer.input_shape
        f, parameters = staticmethod(layer.f), staticmethod(layer.parameters)

        @staticmethod
        def with_parameters(params):
            return Bare.wrap(layer.with_parameters(params))

        @staticmethod
        def wrap(inner):
            bare = type("BareInner", (), {"f": staticmethod(inner.f), "state_shape": inner.state_shape,
                                          "parameters": staticmethod(inner.parameters)})
            return bare

    x, g = layer_inputs(layer, n=6)
    exact_map = LayerMap(layer, x, True)
    exact = solve(exact_map)
    truth = adjoint(exact, exact_map, g, BackwardMode("ift")).gradient
    for view in (LayerMap(Bare, x, True), LayerMap(layer, x, False)):
        solution = solve(view)
        assert solution.all_converged
        assert np.max(np.abs(solution.z - exact.z)) < 1e-14
        gradient = adjoint(solution, view, g, BackwardMode("ift")).gradient
        for name in truth:
            assert np.max(np.abs(gradient[name] - truth[name])) <= 1e-8 * np.max(np.abs(truth[name]))


def test_reference_reports_a_sample_without_a_fixed_point_as_not_converged():
    """f(z) = 2z + 1 + x·0 scaled past a fold: a tanh layer with weights ×2.8 has samples with no
    nearby root; the reference says so per sample instead of returning a non-root."""
    layer = pl.TanhLayer()
    x, _ = layer_inputs(layer, n=16, seed=23)
    scaled = layer.with_parameters({k: (2.8 * v if k == "W1" else v) for k, v in layer.parameters().items()})
    solution, _ = reference(scaled, x)
    assert not solution.all_converged
    assert np.all(solution.residual[~solution.converged] > 1e-12)
    assert np.all(solution.residual[solution.converged] <= 1e-12)


# ---- declarations --------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, message", [
    (dict(backward="exact"), "not a backward mode"),
    (dict(backward=("phantom", 0, 0.5)), "integer k ≥ 1"),
    (dict(backward=("phantom", 3, 1.5)), "0 < tau ≤ 1"),
    (dict(backward=("phantom", True, 0.5)), "integer k"),
    (dict(batch="coupled"), "needs reason"),
    (dict(batch="shared"), "declare one of"),
    (dict(dtypes=("float32",)), "includes 'float64'"),
    (dict(dtypes=("float64", "float16")), "subset of"),
    (dict(weights=(1,)), "parameter names as strings"),
    (dict(forward_tolerance=3), "the name of a setting"),
    (dict(gradient_tolerance=0), "relative error in (0, 1)"),
    (dict(gradient_tolerance="1e-6"), "relative error in (0, 1)"),
])
def test_layer_declarations_refuse_what_cannot_be_checked(kwargs, message):
    with pytest.raises(InvalidInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        LayerDeclaration(**kwargs)


@pytest.mark.parametrize("kwargs, message", [
    (dict(reports_status="no"), "give True or False"),
    (dict(vector="yes", vector_activations=("tanh",)), "give True or False"),
    (dict(scalar=False), "declares nothing"),
    (dict(dtypes=None), "tuple of names"),
    (dict(activations="tanh"), "tuple of names"),
])
def test_capabilities_refuse_truthy_strings_and_empty_families(kwargs, message):
    with pytest.raises(InvalidInputError, match=message):
        Capabilities(**kwargs)


class NoMethods:
    name = "no-methods"
    capabilities = Capabilities()


class LayerMissingBackward:
    name = "layer-without-backward"
    declares = LayerDeclaration()
    input_shape, state_shape = (2,), (2,)

    def f(self, z, x):
        return 0.5 * z

    def solve(self, x):
        return np.zeros((len(x), 2))

    def parameters(self):
        return {"a": np.ones(1)}

    def with_parameters(self, params):
        return self


@pytest.mark.parametrize("impl, phrase", [(NoMethods(), "fixed_point is missing"),
                                          (LayerMissingBackward(), "backward is missing"),
                                          (object(), "declares no family"),
                                          (pl.WrongShapeSolve(), "returned shape")])
def test_protocol_fails_a_declared_family_with_missing_methods(impl, phrase):
    report = check_implementation(impl, checks=["protocol"], timeout=TIMEOUT)
    record = records(report)["protocol"]
    assert record.status == "failed" and phrase in record.note


class ReadOnlyAnswers(pl.TanhLayer):
    """Correct, but every array it returns is a read-only view (as JAX hands out)."""

    name = "read-only-answers"

    def f(self, z, x):
        out = super().f(z, x)
        out.flags.writeable = False
        return out

    def jvp_f(self, z, x, v):
        out = super().jvp_f(z, x, v)
        out.flags.writeable = False
        return out


def test_the_reference_copies_what_a_layer_returns():
    """The reference writes into its iterates: read-only answers (JAX arrays) must not break it."""
    layer = ReadOnlyAnswers()
    x, _ = layer_inputs(layer, n=8)
    solution, _ = reference(layer, x)
    assert solution.all_converged


def test_tolerance_coupling_is_not_judged_when_the_backward_never_answers():
    """A backward that raises at every setting gives no gradient to compare: the coupling
    check skips with the reason (layer-gradient-exists fails it), instead of passing."""
    record = records(check_implementation(pl.BackwardCrashes(), checks=["layer-tolerance-coupling"],
                                          timeout=TIMEOUT))["layer-tolerance-coupling"]
    assert record.status == "skipped" and "cannot be judged" in record.note, record.note
