"""The bad-input corpus (issue 11): every case names its expected class — a typed error with a
message fragment, or the correct answer checked against an independent computation
(bracketed roots from ``deqverify.reference.bracket``, closed forms, the mpmath vector twin).
Each case runs under a hard wall-clock limit, so a hang fails instead of stalling the suite.

Counted by ``pytest tests/test_bad_input_corpus.py --collect-only -q`` (with
``tests/test_bad_input.py`` and the bad-input cases of ``tests/test_vector.py``, the corpus
the closing note of issue 11 reports).
"""

import signal

import numpy as np
import pytest

import deqverify as dv
from deqverify.core.splitting import proximal_map
from deqverify.reference import bracket

RNG = np.random.default_rng(11)
X0 = RNG.standard_normal((6, 2))
T0 = RNG.standard_normal(6)
THETA = np.array([0.4, -0.3, 0.5])
HANG_SECONDS = 20


class Error:
    """Expected: a typed error of ``kind`` whose message contains ``fragment``."""

    def __init__(self, kind, fragment):
        self.kind, self.fragment = kind, fragment


class Value:
    """Expected: ``call()`` equals ``reference()`` within ``rtol`` (and ``atol``)."""

    def __init__(self, reference, rtol=1e-12, atol=1e-14):
        self.reference, self.rtol, self.atol = reference, rtol, atol


def fixed_point(activation, X, theta):
    model = dv.LinearDEQ() if activation == "identity" else dv.SingleIndexDEQ(activation)
    return model.fixed_point(theta, X).raise_for_status().value


def bracketed(activation, X, theta):
    return bracket.fixed_points(np.asarray(X, dtype=float) @ np.asarray(theta[:-1], dtype=float),
                                float(theta[-1]), activation)


def empirical(activation, X=X0, t=T0, **kwargs):
    model = dv.LinearDEQ() if activation == "identity" else dv.SingleIndexDEQ(activation)
    return dv.EmpiricalRisk(model, X, t, **kwargs)


CASES = {}


def case(name, call, expected):
    assert name not in CASES, name
    CASES[name] = (call, expected)


# -- data X -------------------------------------------------------------------------------
BAD_X = {
    "ragged": ([[1.0, 2.0], [3.0]], "ragged"),
    "strings": ([["a", "b"]], "dtype"),
    "complex": (np.ones((2, 2)) * 1j, "dtype"),
    "object": (np.array([[1.0, None]], dtype=object), "dtype"),
    "empty-rows": (np.zeros((0, 2)), "non-empty"),
    "empty-cols": (np.zeros((3, 0)), "non-empty"),
    "1-d": (np.ones(3), "2-D"),
    "3-d": (np.ones((2, 2, 2)), "2-D"),
    "nan": (np.array([[1.0, np.nan]]), "NaN"),
    "inf": (np.array([[np.inf, 1.0]]), "NaN/inf"),
    "none": (None, "dtype"),
    "scalar": (3.0, "2-D"),
}
for label, (X, fragment) in BAD_X.items():
    for activation in ("sigmoid", "tanh", "identity"):
        case(f"fixed_point-X-{label}-{activation}",
             lambda X=X, a=activation: fixed_point(a, X, [0.2, 0.1, 0.3]),
             Error(dv.InvalidInputError, fragment))
    case(f"risk-X-{label}", lambda X=X: empirical("softplus", X, np.ones(2)),
         Error(dv.InvalidInputError, fragment))
    case(f"vector-X-{label}",
         lambda X=X: dv.VectorDEQ(2, "tanh").fixed_point(
             dv.VectorParams(0.1 * np.eye(2), np.ones((2, 2)), np.zeros(2), np.ones(2)), X),
         Error(dv.InvalidInputError, fragment))

GOOD_X = {
    "float32": X0.astype(np.float32),
    "fortran": np.asfortranarray(X0),
    "int": np.array([[1, -2], [0, 3], [2, 2]]),
    "bool": np.array([[True, False], [False, True]]),
    "strided": np.ones((6, 4))[:, ::2] * X0[:, :1],
    "tiny": X0 * 1e-300,
    "large": X0 * 1e3,
    "list": X0.tolist(),
}
for label, X in GOOD_X.items():
    for activation, theta in (("sigmoid", [0.4, -0.3, 3.9]), ("tanh", [0.4, -0.3, -0.99]),
                              ("softplus", [0.4, -0.3, 0.99]), ("identity", [0.4, -0.3, 1.5])):
        case(f"fixed_point-{label}-{activation}", lambda X=X, a=activation, th=theta: fixed_point(a, X, th),
             Value(lambda X=X, a=activation, th=theta: bracketed(a, X, th), rtol=1e-12, atol=1e-300))

# -- θ --------------------------------------------------------------------------------------
BAD_THETA = {
    "short": ([0.1], "length"), "long": ([0.1, 0.2, 0.3, 0.4], "length"),
    "2-d": ([[0.1, 0.2, 0.3]], "flat"), "nan": ([0.1, np.nan, 0.2], "NaN"),
    "inf": ([0.1, 0.2, np.inf], "NaN"), "string": (["a", "b", "c"], "dtype"),
    "none": (None, "dtype"), "empty": ([], "flat"),
}
for label, (theta, fragment) in BAD_THETA.items():
    case(f"theta-{label}-fixed_point", lambda th=theta: fixed_point("sigmoid", X0, th),
         Error(dv.InvalidInputError, fragment))
    case(f"theta-{label}-risk", lambda th=theta: empirical("tanh").value(th),
         Error(dv.InvalidInputError, fragment))
    case(f"theta-{label}-descent", lambda th=theta: dv.gradient_descent(empirical("tanh"), th, 0.1, 2),
         Error(dv.InvalidInputError, fragment))

# -- ill-posed θ₂ ------------------------------------------------------------------------------
for activation, theta2, kind in (("sigmoid", 4.0, dv.NonContractiveError), ("sigmoid", 1e6, dv.NonContractiveError),
                                 ("tanh", 1.0, dv.NonContractiveError), ("softplus", 1.5, dv.NonContractiveError),
                                 ("identity", 1.0, dv.SingularDEQError), ("relu", 1.0, dv.IllPosedError),
                                 ("relu", 2.0, dv.IllPosedError)):
    case(f"ill-posed-{activation}-{theta2:g}", lambda a=activation, t2=theta2: fixed_point(a, X0, [0.4, -0.3, t2]),
         Error(kind, ""))
    case(f"ill-posed-risk-{activation}-{theta2:g}", lambda a=activation, t2=theta2: empirical(a).value([0.4, -0.3, t2]),
         Error(kind, ""))

# -- edges with correct answers --------------------------------------------------------------
for activation, theta2 in (("sigmoid", 3.999), ("sigmoid", -40.0), ("tanh", 0.999), ("tanh", -0.999),
                           ("softplus", 0.999), ("softplus", -50.0), ("identity", 1 - 1e-9), ("identity", -1e9)):
    for scale in (1e-8, 1.0, 1e4):
        X = X0 * scale
        case(f"edge-{activation}-{theta2:g}-{scale:g}",
             lambda X=X, a=activation, t2=theta2: fixed_point(a, X, [0.4, -0.3, t2]),
             Value(lambda X=X, a=activation, t2=theta2: bracketed(a, X, [0.4, -0.3, t2]), rtol=1e-9, atol=1e-300))

# -- overflow: flagged, never a root for a = ±inf ---------------------------------------------
OVERFLOW_X = np.vstack([[1e308, -1e308], X0])
for activation in ("sigmoid", "tanh", "softplus", "identity", "relu"):
    for n in (2, 20):
        X = np.vstack([OVERFLOW_X[:1], np.tile(X0, (4, 1))[:n - 1]])
        case(f"overflow-risk-{activation}-n{n}",
             lambda X=X, a=activation: empirical(a, X, np.zeros(len(X))).value([2.0, 2.0, 0.3]),
             Error(dv.ConvergenceError, "non_finite"))

# -- models and settings -----------------------------------------------------------------------
for label, build, fragment in (
        ("activation-name", lambda: dv.SingleIndexDEQ("sigmoidd"), "activation"),
        ("activation-type", lambda: dv.SingleIndexDEQ(3), "activation"),
        ("method", lambda: dv.SingleIndexDEQ("tanh", method="bisect"), "method"),
        ("settings-type", lambda: dv.SingleIndexDEQ("tanh", settings={"rtol": 1e-3}), "settings"),
        ("settings-mismatch", lambda: dv.SingleIndexDEQ("tanh", "newton", dv.PicardSettings()), "settings"),
        ("rtol-nan", lambda: dv.NewtonSettings(rtol=float("nan")), "rtol"),
        ("atol-negative", lambda: dv.PicardSettings(atol=-1.0), "atol"),
        ("rtol-string", lambda: dv.AndersonSettings(rtol="1e-3"), "rtol"),
        ("max-iter-float", lambda: dv.PicardSettings(max_iter=10.5), "max_iter"),
        ("max-iter-bool", lambda: dv.NewtonSettings(max_iter=True), "max_iter"),
        ("lipschitz-zero", lambda: dv.Activation("z", np.tanh, np.tanh, np.tanh, lipschitz=0.0, monotone=True), "lipschitz"),
        ("lipschitz-understated", lambda: dv.Activation("t3", lambda z: np.tanh(3 * z),
                                                        lambda z: 3 / np.cosh(3 * z) ** 2, lambda z: 0 * z,
                                                        lipschitz=1.0, monotone=True), "under-states"),
        ("risk-model-none", lambda: dv.EmpiricalRisk(None, X0, T0), "model must be"),
        ("risk-model-string", lambda: dv.EmpiricalRisk.from_teacher("sigmoid", X0, [1.0, 0.0]), "model must be"),
        ("risk-targets-short", lambda: dv.EmpiricalRisk(dv.SingleIndexDEQ("tanh"), X0, T0[:3]), "targets"),
        ("risk-targets-nan", lambda: dv.EmpiricalRisk(dv.SingleIndexDEQ("tanh"), X0, np.r_[np.nan, T0[1:]]), "NaN"),
        ("risk-xi-length", lambda: dv.EmpiricalRisk.from_teacher(dv.SingleIndexDEQ("tanh"), X0, [1.0]), "xi"),
        ("population-model", lambda: dv.PopulationRisk("linear", dv.GaussianPopulation(np.eye(2)), [1, 0]), "model must be"),
        ("population-type", lambda: dv.PopulationRisk(dv.LinearDEQ(), "gaussian", [1, 0]), "population must be"),
        ("population-xi", lambda: dv.PopulationRisk(dv.LinearDEQ(), dv.GaussianPopulation(np.eye(2)), [1.0]), "xi"),
        ("population-relu", lambda: dv.PopulationRisk(dv.SingleIndexDEQ("relu"), dv.GaussianPopulation(np.eye(2)), [1, 0]), "not implemented"),
        ("sigma-asymmetric", lambda: dv.GaussianPopulation([[1.0, 0.5], [0.0, 1.0]]), "symmetric"),
        ("sigma-negative", lambda: dv.GaussianPopulation([[1.0, 0.0], [0.0, -1.0]]), "semi-definite"),
        ("sigma-nan", lambda: dv.GaussianPopulation([[np.nan]]), "NaN"),
        ("sigma-shape", lambda: dv.GaussianPopulation(np.ones((2, 3))), "square"),
        ("sigma-string", lambda: dv.GaussianPopulation("identity"), "dtype"),
        ("uniform-order", lambda: dv.UniformPopulation(1.0, 0.0), "low"),
        ("uniform-string", lambda: dv.UniformPopulation("0", "1"), "number"),
        ("uniform-nan", lambda: dv.UniformPopulation(float("nan"), 1.0), "finite"),
        ("vector-width-zero", lambda: dv.VectorDEQ(0), "width"),
        ("vector-frozen", lambda: dv.VectorDEQ(2, frozen=("x",)), "frozen"),
        ("vector-population-tanh", lambda: dv.PopulationRisk(dv.VectorDEQ(2, "tanh"), dv.GaussianPopulation(np.eye(2)), [1, 0]), "linear model"),
        ("vector-params-nonsquare", lambda: dv.VectorParams(np.ones((2, 3)), np.ones((2, 2)), np.zeros(2), np.ones(2)), "square"),
        ("vector-flat-length", lambda: dv.VectorParams.from_flat(np.ones(5), 2, 2), "length"),
        ("vector-flat-nan", lambda: dv.VectorParams.from_flat(np.r_[np.nan, np.ones(11)], 2, 2), "NaN"),
        ("vector-method", lambda: dv.VectorDEQ(2, "tanh", method="bisect"), "method"),
        ("vector-settings-mismatch", lambda: dv.VectorDEQ(2, "tanh", "newton", dv.PicardSettings()), "settings"),
        ("vector-allow-noncontractive-string", lambda: dv.VectorDEQ(2, allow_noncontractive="yes"), "allow_noncontractive"),
        ("vector-params-U-rows", lambda: dv.VectorParams(np.eye(2), np.ones((3, 2)), np.zeros(2), np.ones(2)), "U must"),
        ("vector-params-b-length", lambda: dv.VectorParams(np.eye(2), np.ones((2, 2)), np.zeros(3), np.ones(2)), "b must"),
        ("vector-parts-missing", lambda: dv.VectorParams.from_parts(W=np.eye(2), U=np.ones((2, 2))), "missing parts"),
        ("risk-no-teacher", lambda: empirical("tanh").reached_pre_activations(), "no teacher"),
        ("population-linear-truth", lambda: dv.PopulationRisk(dv.LinearDEQ(), dv.GaussianPopulation(np.eye(2)),
                                                              [1, 0]).hessian_at_truth(), "line of minimisers"),
        ("picard-beyond-its-limit", lambda: dv.SingleIndexDEQ("tanh", "picard").fixed_point([0.4, -0.3, -1.0], X0),
         "|θ₂|·L"),
        ("prox-unknown", lambda: proximal_map(dv.get_activation("sigmoid"), np.zeros(2), 0.5), "no proximal form"),
):
    case(f"build-{label}", build, Error(dv.DEQError, fragment))

PARTS = {"W": 0.1 * np.eye(2), "U": np.arange(6.0).reshape(2, 3), "b": np.array([1.0, -1.0]), "v": np.ones(2)}
case("vector-parts-value", lambda: dv.VectorParams.from_parts(**PARTS).flat,
     Value(lambda: np.concatenate([PARTS[name].ravel() for name in "WUbv"]), rtol=0.0, atol=0.0))

# -- dynamics ----------------------------------------------------------------------------------
for label, call, fragment in (
        ("flow-method", lambda r: dv.gradient_flow(r, THETA, 1.0, method="Euler"), "method"),
        ("flow-t-eval-unsorted", lambda r: dv.gradient_flow(r, THETA, 1.0, t_eval=[0.5, 0.1]), "t_eval"),
        ("flow-t-eval-outside", lambda r: dv.gradient_flow(r, THETA, 1.0, t_eval=[0.0, 2.0]), "t_eval"),
        ("flow-t-eval-nan", lambda r: dv.gradient_flow(r, THETA, 1.0, t_eval=[0.0, np.nan]), "t_eval"),
        ("flow-n-records-zero", lambda r: dv.gradient_flow(r, THETA, 1.0, n_records=0), "n_records"),
        ("flow-t-max-negative", lambda r: dv.gradient_flow(r, THETA, -1.0), "t_max"),
        ("flow-t-max-string", lambda r: dv.gradient_flow(r, THETA, "1"), "t_max"),
        ("flow-rtol-inf", lambda r: dv.gradient_flow(r, THETA, 1.0, rtol=float("inf")), "rtol"),
        ("descent-record-every-zero", lambda r: dv.gradient_descent(r, THETA, 0.1, 3, record_every=0), "record_every"),
        ("descent-steps-negative", lambda r: dv.gradient_descent(r, THETA, 0.1, -3), "steps"),
        ("descent-step-list", lambda r: dv.gradient_descent(r, THETA, [0.1], 3), "step"),
        ("vector-descent-wrong-length", lambda r: dv.gradient_descent(
            dv.EmpiricalRisk(dv.VectorDEQ(2, "tanh"), X0, T0), np.ones(5), 0.1, 3), "length"),
):
    case(f"dynamics-{label}", lambda call=call: call(empirical("tanh")), Error(dv.InvalidInputError, fragment))

# -- vector models: well-posedness and correct answers ----------------------------------------
for q, kind in ((1.0, dv.NonContractiveError), (1.5, dv.NonContractiveError), (10.0, dv.NonContractiveError)):
    W = q * np.array([[0.0, 1.0], [1.0, 0.0]])
    case(f"vector-noncontractive-{q:g}",
         lambda W=W: dv.VectorDEQ(2, "tanh").fixed_point(dv.VectorParams(W, np.ones((2, 2)), np.zeros(2), np.ones(2)), X0),
         Error(kind, "allow_noncontractive"))
case("vector-singular-linear",
     lambda: dv.VectorDEQ(2, "identity").fixed_point(
         dv.VectorParams(np.eye(2) - np.array([[1.0, 1.0], [1.0, 1.0]]), np.ones((2, 2)), np.zeros(2), np.ones(2)), X0),
     Error(dv.SingularDEQError, "singular"))
case("vector-dim-mismatch",
     lambda: dv.VectorDEQ(2, "tanh").fixed_point(dv.VectorParams(0.1 * np.eye(2), np.ones((2, 3)), np.zeros(2), np.ones(2)), X0),
     Error(dv.InvalidInputError, "dim"))
for activation in ("tanh", "sigmoid", "softplus", "relu", "identity"):
    W = np.array([[0.3, -0.2], [0.1, 0.4]])
    params = dv.VectorParams(W, np.array([[1.0, -0.5], [0.3, 0.8]]), np.array([0.1, -0.2]), np.ones(2))
    for scale in (1e-6, 1.0, 50.0):
        X = X0 * scale

        def exact(X=X, a=activation, p=params):
            # the same fixed point by plain contraction to convergence (q ≤ 0.5 here)
            from deqverify.core.activations import get_activation
            f = get_activation(a).f
            Z = np.zeros((len(X), 2))
            for _ in range(200):
                Z = f(Z @ p.W.T + X @ p.U.T + p.b)
            return Z

        # the solver's contract is norm-wise: ‖z − z*‖ ≤ (atol + rtol‖z‖)/(1 − q) per sample
        # (default tolerances 1e-14, q ≤ 0.5 here), so a component far smaller than ‖z‖ is
        # accurate only to that norm
        norm = float(np.max(np.linalg.norm(exact(), axis=1)))
        case(f"vector-value-{activation}-{scale:g}",
             lambda X=X, a=activation, p=params: dv.VectorDEQ(2, a).fixed_point(p, X).raise_for_status().value,
             Value(exact, rtol=0.0, atol=4e-14 * (1.0 + norm)))


@pytest.fixture(autouse=True)
def no_hangs():
    """A case that runs longer than HANG_SECONDS fails (as a hang) instead of stalling."""
    def alarm(*_):
        raise TimeoutError(f"hang: case exceeded {HANG_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(HANG_SECONDS)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus(name):
    call, expected = CASES[name]
    if isinstance(expected, Error):
        with pytest.raises(expected.kind) as caught:
            call()
        assert expected.fragment in str(caught.value), str(caught.value)
        assert isinstance(caught.value, dv.DEQError)  # every refusal is typed
    else:
        got = np.asarray(call(), dtype=float)
        want = np.asarray(expected.reference(), dtype=float)
        np.testing.assert_allclose(got, want, rtol=expected.rtol, atol=expected.atol)
