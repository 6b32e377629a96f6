"""CERT-*: certified enclosures (``deqverify[certify]``, python-flint's Arb) against mpmath.

CERT-FP      every certified scalar enclosure contains the root mpmath finds at 50 digits
             (plus the digits θ₂ ≪ 0 cancels: the twin adds them), and the float64 solver's
             answer lies within FP-1's allowance of it (θ₂L from 0.99 down to −1e300, offsets
             |θ₁ᵀx| up to 270, every built-in activation)
CERT-SPECTRUM the enclosures of λ_min and λ_max of a symmetric matrix (Ostrowski + Gershgorin,
             Rayleigh quotients) contain mpmath's eigenvalues at 50 digits, multiple and zero
             eigenvalues included (planted: a Gershgorin disc without its radius fails)
CERT-LAYER   a chain map h₁ = σ₁(W₁z + Ux + b₁), hᵢ = σᵢ(Wᵢhᵢ₋₁ + bᵢ) (the MLP layers): every
             Krawczyk enclosure contains the mpmath root at 40 digits (planted: a Krawczyk
             operator without its −R·F(z̃) term fails)
CERT-ROOTS   enclose_roots finds every root of a multi-root sample: its count, positions and
             stability classes match an independent sign-change count on a 30-digit grid
CERT-RISK    the certified enclosures of the empirical risk and its IFT gradient contain the
             mpmath twin's at 50 digits, and the float64 risk's gradient is within the
             ladder's rounding gap of the box (planted: a box that drops its radius fails)
CERT-VEC     every certified vector enclosure (Krawczyk) contains the mpmath twin's root,
             and the float64 answer is within the solver's certified bound of the box
CERT-VEC-RISK the certified enclosures of the vector DEQ's empirical risk and its gradient
             (adjoint by ball Gaussian elimination) contain the mpmath twin's at 40 digits,
             frozen parts at 0, and the float64 gradient is within the ladder's rounding gap
             (planted: an adjoint solved with W instead of Wᵀ fails); so does the closed-form
             enclosure of the linear vector population risk on N(0, Σ)

Skipped (with the reason) where python-flint is not installed; ``tox -e certify`` runs them.
"""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

pytest.importorskip("flint", reason="python-flint is the [certify] extra (tox -e certify)")

import deqverify as dv  # noqa: E402
from deqverify import certify  # noqa: E402
from deqverify import reference as ref  # noqa: E402
from deqverify.core.activations import get_activation  # noqa: E402
from deqverify.certify.risk import empirical_risk  # noqa: E402
from deqverify.certify.vector_risk import linear_vector_population_risk, vector_empirical_risk  # noqa: E402
from deqverify.reference import vector_twin  # noqa: E402
from deqverify.reference.proofs import GRADIENT_GAP  # noqa: E402
from deqverify.reference.twin import risk_and_gradient  # noqa: E402
from deqverify.theorems.checking import examples_for  # noqa: E402
from deqverify.theorems.draws import covariances, far_contractions, finite_floats  # noqa: E402
from deqverify.theorems.fixed_point import NEWTON_TOLERANCE, ROUNDING_K  # noqa: E402

EPS = float(np.finfo(float).eps)
ACTIVATIONS = ("sigmoid", "tanh", "softplus", "relu", "identity")


def mp_root(theta1, x, theta2: float, activation: str) -> mpmath.mpf:
    """The unique root at 50 digits, from the exact offset Σθ₁ᵢxᵢ of the float64 inputs."""
    with ref.working_precision(50):
        offset = mpmath.fsum(mpmath.mpf(float(t)) * mpmath.mpf(float(v)) for t, v in zip(theta1, x))
        return ref.fixed_point(offset, mpmath.mpf(theta2), get_activation(activation))


@settings(max_examples=examples_for("pointwise"), deadline=None)
@given(activation=st.sampled_from(ACTIVATIONS), contraction=far_contractions(0.99),
       X=hnp.arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 3)),
                    elements=finite_floats(-30.0, 30.0)),
       theta1=hnp.arrays(np.float64, 3, elements=finite_floats(-3.0, 3.0)))
def test_CERT_FP_enclosures_contain_the_root(activation, contraction, X, theta1):
    lipschitz = get_activation(activation).lipschitz
    theta = np.r_[theta1[:X.shape[1]], contraction / lipschitz]
    model = dv.LinearDEQ() if activation == "identity" else dv.SingleIndexDEQ(activation)
    answer = model.fixed_point(theta, X)
    enclosures = certify.fixed_point(theta, X, activation, answers=answer.value)
    for x, offset, y, enclosure in zip(X, X @ theta[:-1], answer.value, enclosures):
        if not enclosure.certified:
            continue  # an honest refusal; the unit tests pin when one is due
        exact = mp_root(theta[:-1], x, theta[-1], activation)
        with ref.working_precision(50):
            assert mpmath.mpf(enclosure.low) <= exact <= mpmath.mpf(enclosure.high), (offset, enclosure)
        # the float64 answer is within FP-1's allowance of the proved root
        slope = get_activation(activation).df(np.array([offset + theta[-1] * y]))[0]
        cond = 1.0 / abs(1.0 - theta[-1] * slope)
        allowed = max(NEWTON_TOLERANCE, ROUNDING_K * EPS * cond) * max(1.0, abs(y))
        distance = max(enclosure.low - y, y - enclosure.high, 0.0)
        assert distance <= allowed, (y, enclosure, allowed)
    # a contraction leaves no excuse: every sample of a well-posed problem is certified
    assert all(e.certified for e in enclosures), [e.reason for e in enclosures if not e.certified]


def risk_property():
    """CERT-RISK as a callable Hypothesis test (the planted-radius test runs it too)."""

    @settings(max_examples=examples_for("pointwise") // 2, deadline=None)
    @given(activation=st.sampled_from(ACTIVATIONS), contraction=far_contractions(0.99),
           X=hnp.arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 3)),
                        elements=finite_floats(-5.0, 5.0)),
           theta1=hnp.arrays(np.float64, 3, elements=finite_floats(-3.0, 3.0)),
           seed=st.integers(0, 2**32 - 1))
    def run(activation, contraction, X, theta1, seed):
        act = get_activation(activation)
        theta = np.r_[theta1[:X.shape[1]], contraction / act.lipschitz]
        targets = np.random.default_rng(seed).standard_normal(X.shape[0])
        enclosure = empirical_risk(theta, X, targets, activation)
        assert enclosure.certified, enclosure.reason  # a contraction: every root is certified
        with ref.working_precision(50):
            value, gradient = risk_and_gradient(theta, X, targets, act)
            for exact, (low, high) in zip([value, *gradient], [enclosure.value, *enclosure.gradient]):
                assert mpmath.mpf(low) <= exact <= mpmath.mpf(high), (exact, low, high)
        model = dv.LinearDEQ() if activation == "identity" else dv.SingleIndexDEQ(activation)
        float_gradient = dv.EmpiricalRisk(model, X, targets).gradient(theta)
        nearest, _ = enclosure.gradient_distance(float_gradient)
        # the ladder's rounding gap: what it still calls rounding, relative to the largest component
        assert nearest <= GRADIENT_GAP * np.max(np.abs(enclosure.gradient)) + 1e-300, (nearest, enclosure)

    return run


def test_CERT_RISK_enclosures_contain_the_exact_risk_and_gradient():
    risk_property()()


def test_CERT_RISK_catches_an_enclosure_that_drops_its_radius(monkeypatch):
    """Planted: the ball's midpoint returned as a zero-width box (a radius dropped)."""
    from deqverify.certify import risk as certified_risk
    monkeypatch.setattr(certified_risk, "_floats", lambda low, high: (float(low.mid()), float(high.mid())))
    with pytest.raises(AssertionError):
        risk_property()()


MULTI_ROOT = {"tanh": (1.2, 3.0), "sigmoid": (4.5, 12.0)}


def sign_change_roots(offset: float, theta2: float, activation: str, points: int = 4001):
    """Roots of g(y) = y − σ(a + θ₂y) located by sign changes of g on a 30-digit grid over
    σ's range, each refined by bisection; with the stability of each (θ₂σ' < 1)."""
    act = get_activation(activation)
    low, high = (-1.0, 1.0) if activation == "tanh" else (0.0, 1.0)
    with ref.working_precision(30):
        a, t2 = mpmath.mpf(offset), mpmath.mpf(theta2)

        def g(y):
            return y - act.mp_f(a + t2 * y)
        grid = [mpmath.mpf(low) + (mpmath.mpf(high) - low) * i / (points - 1) for i in range(points)]
        values = [g(y) for y in grid]
        roots = []
        for y0, y1, g0, g1 in zip(grid, grid[1:], values, values[1:]):
            if g0 == 0:
                roots.append(y0)
            elif g0 * g1 < 0:
                roots.append(mpmath.findroot(g, (y0, y1), solver="bisect"))
        return [(float(y), bool(t2 * act.mp_df(a + t2 * y) < 1)) for y in roots]


@settings(max_examples=examples_for("pointwise") // 2, deadline=None)
@given(activation=st.sampled_from(sorted(MULTI_ROOT)), data=st.data())
def test_CERT_ROOTS_every_root_is_found_and_classed(activation, data):
    theta2 = data.draw(finite_floats(*MULTI_ROOT[activation]), label="theta2")
    # offsets where several roots exist: around a = −θ₂σ(0) (σ(0) = 0 for tanh, 1/2 for sigmoid)
    centre = -theta2 * float(get_activation(activation).f(np.zeros(1))[0])
    offset = data.draw(finite_floats(centre - theta2 / 2, centre + theta2 / 2), label="offset")
    expected = sign_change_roots(offset, theta2, activation)
    found = certify.enclose_roots(offset, theta2, activation)
    assert found.complete
    assert len(found.roots) == len(expected), (found, expected)
    for enclosure, (root, stable) in zip(found.roots, expected):
        assert enclosure.low - 1e-12 <= root <= enclosure.high + 1e-12  # the grid root is 1e-20 off
        assert enclosure.stable in (stable, None)


@settings(max_examples=examples_for("trajectory"), deadline=None)
@given(activation=st.sampled_from(ACTIVATIONS), k=st.integers(1, 5), scale=finite_floats(0.05, 0.95),
       seed=st.integers(0, 2**32 - 1))
def test_CERT_VEC_krawczyk_enclosures_contain_the_root(activation, k, scale, seed):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((k, k))
    W *= scale / (np.linalg.norm(W, 2) * get_activation(activation).lipschitz)
    params = dv.VectorParams(W, rng.standard_normal((k, 2)), rng.standard_normal(k) * 0.3, np.ones(k))
    X = rng.standard_normal((3, 2)) * 2
    answer = dv.VectorDEQ(k, activation).fixed_point(params, X)
    boxes = certify.vector_fixed_point(params, X, activation, answers=answer.value)
    for x, z, bound, box in zip(X, answer.value, answer.error_bound, boxes):
        assert all(e.certified for e in box), [e.reason for e in box]
        with ref.working_precision(50):
            root = vector_twin.fixed_point(W, params.U, params.b, x, get_activation(activation))
            for component, enclosure in zip(root, box):
                assert mpmath.mpf(enclosure.low) <= component <= mpmath.mpf(enclosure.high)
        outside = [max(e.low - v, v - e.high, 0.0) for v, e in zip(z, box)]
        assert math.hypot(*outside) <= bound + 4 * EPS * max(1.0, float(np.abs(z).max()))


def vector_risk_property():
    """CERT-VEC-RISK as a callable Hypothesis test (the planted-adjoint test runs it too)."""

    @settings(max_examples=examples_for("trajectory"), deadline=None)
    @given(activation=st.sampled_from(ACTIVATIONS), k=st.integers(1, 4), scale=finite_floats(0.05, 0.9),
           frozen=st.lists(st.sampled_from(["W", "U", "b", "v"]), unique=True, max_size=2),
           seed=st.integers(0, 2**32 - 1))
    def run(activation, k, scale, frozen, seed):
        rng = np.random.default_rng(seed)
        W = rng.standard_normal((k, k))
        W *= scale / (np.linalg.norm(W, 2) * get_activation(activation).lipschitz)
        params = dv.VectorParams(W, rng.standard_normal((k, 2)), rng.standard_normal(k) * 0.3,
                                 rng.standard_normal(k))
        X, targets = rng.standard_normal((4, 2)) * 2, rng.standard_normal(4)
        model = dv.VectorDEQ(k, activation, frozen=tuple(frozen))
        enclosure = vector_empirical_risk(model, params, X, targets)
        if not enclosure.certified:  # only ReLU's kink may refuse (a pre-activation box at 0)
            assert activation == "relu" and "holds 0" in enclosure.reason, enclosure.reason
            return
        with ref.working_precision(40):
            value, parts = vector_twin.risk_and_gradient(W, params.U, params.b, params.v, X, targets,
                                                         get_activation(activation))
            exact = [value] + [0 if name in frozen else entry for name in "WUbv"
                               for row in parts[name].tolist() for entry in row]
            for truth, (low, high) in zip(exact, [enclosure.value, *enclosure.gradient]):
                assert mpmath.mpf(low) <= truth <= mpmath.mpf(high), (truth, low, high)
        nearest, _ = enclosure.gradient_distance(dv.EmpiricalRisk(model, X, targets).gradient(params.flat))
        assert nearest <= GRADIENT_GAP * np.max(np.abs(enclosure.gradient)) + 1e-300, (nearest, enclosure)

    return run


def test_CERT_VEC_RISK_enclosures_contain_the_exact_risk_and_gradient():
    vector_risk_property()()


def test_CERT_VEC_RISK_catches_a_gradient_built_on_the_wrong_orientation_of_W(monkeypatch):
    """Planted: each sample's gradient built from Wᵀ in place of W."""
    from deqverify.certify import vector_risk

    def untransposed(W, *rest):
        return original(np.ascontiguousarray(W.T), *rest)

    original = vector_risk._gradient_parts
    monkeypatch.setattr(vector_risk, "_gradient_parts", untransposed)
    with pytest.raises(AssertionError):
        vector_risk_property()()


@settings(max_examples=examples_for("pointwise") // 2, deadline=None)
@given(k=st.integers(1, 4), scale=finite_floats(0.0, 0.95), Sigma=st.integers(1, 3).flatmap(covariances),
       frozen=st.lists(st.sampled_from(["W", "U", "b", "v"]), unique=True, max_size=2),
       seed=st.integers(0, 2**32 - 1))
def test_CERT_VEC_RISK_the_linear_population_enclosure_contains_the_closed_form(k, scale, Sigma, frozen, seed):
    rng = np.random.default_rng(seed)
    d = Sigma.shape[0]
    W = rng.standard_normal((k, k))
    W *= scale / np.linalg.norm(W, 2)
    params = dv.VectorParams(W, rng.standard_normal((k, d)), rng.standard_normal(k), rng.standard_normal(k))
    xi = rng.standard_normal(d)
    model = dv.VectorDEQ(k, "identity", frozen=tuple(frozen))
    enclosure = linear_vector_population_risk(model, params, Sigma, xi)
    assert enclosure.certified, enclosure.reason  # ‖W‖₂ ≤ 0.95: A is invertible
    with ref.working_precision(40):
        value, parts = vector_twin.linear_population_risk_and_gradient(W, params.U, params.b, params.v, Sigma, xi)
        exact = [value] + [0 if name in frozen else entry for name in "WUbv" for row in parts[name].tolist()
                           for entry in row]
        for truth, (low, high) in zip(exact, [enclosure.value, *enclosure.gradient]):
            assert mpmath.mpf(low) <= truth <= mpmath.mpf(high), (truth, low, high)
    risk = dv.PopulationRisk(model, dv.GaussianPopulation(Sigma), xi)
    nearest, _ = enclosure.gradient_distance(risk.gradient(params.flat))
    assert nearest <= GRADIENT_GAP * np.max(np.abs(enclosure.gradient)) + 1e-300, (nearest, enclosure)


def spectrum_property():
    """CERT-SPECTRUM as a callable Hypothesis test (the planted-disc test runs it too)."""
    from flint import arb, ctx

    from deqverify.certify.spectrum import extreme_eigenvalues

    @settings(max_examples=examples_for("pointwise"), deadline=None)
    @given(Sigma=st.integers(1, 5).flatmap(covariances), shift=st.sampled_from([0.0, -1.0, 3.0]),
           repeated=st.booleans())
    def run(Sigma, shift, repeated):
        A = (np.eye(len(Sigma)) * 2.0 if repeated else Sigma) + shift * np.eye(len(Sigma))
        with ctx.workprec(128):
            low, high = extreme_eigenvalues(A)
            with ref.working_precision(50):
                values = sorted(mpmath.eigsy(mpmath.matrix(A.tolist()), eigvals_only=True))
                # mpmath's eigenvalue to 45 digits, as a ball of that width
                exact = [arb(mpmath.nstr(v, 45)).union(arb(mpmath.nstr(v, 45)) + arb(0, 1e-40)) for v in values]
        assert low.overlaps(exact[0]) and high.overlaps(exact[-1]), (low, high, values[0], values[-1])
        assert float(low.rad()) <= 1e-12 * max(1.0, abs(float(values[-1])))  # tight, not merely true

    return run


def test_CERT_SPECTRUM_enclosures_contain_the_extreme_eigenvalues():
    spectrum_property()()


def test_CERT_SPECTRUM_catches_a_disc_without_its_radius(monkeypatch):
    """Planted: Gershgorin's discs as their centres (the off-diagonal spread dropped)."""
    from flint import arb

    from deqverify.certify import spectrum

    def centres(B):
        k = B.nrows()
        return (min((arb(B[i, i].lower()) for i in range(k)), key=lambda b: b.mid()),
                max((arb(B[i, i].upper()) for i in range(k)), key=lambda b: b.mid()))

    monkeypatch.setattr(spectrum, "_gershgorin", centres)
    with pytest.raises(AssertionError):
        spectrum_property()()


def layer_property():
    """CERT-LAYER as a callable Hypothesis test (the planted-operator test runs it too)."""
    from deqverify.certify.layer import evaluate, layer_fixed_point

    @settings(max_examples=examples_for("trajectory"), deadline=None)
    @given(k=st.integers(1, 4), widths=st.lists(st.integers(1, 5), max_size=2),
           names=st.lists(st.sampled_from(ACTIVATIONS[:3]), min_size=3, max_size=3),
           contraction=finite_floats(0.1, 0.9), seed=st.integers(0, 2**32 - 1))
    def run(k, widths, names, contraction, seed):
        rng = np.random.default_rng(seed)
        sizes = [k, *widths, k]
        lipschitz = np.prod([get_activation(name).lipschitz for name in names[:len(sizes) - 1]])
        layers = []
        for i in range(1, len(sizes)):
            W = rng.standard_normal((sizes[i], sizes[i - 1]))
            W *= (contraction / lipschitz) ** (1 / (len(sizes) - 1)) / np.linalg.norm(W, 2)
            layers.append((W, rng.standard_normal(sizes[i]) * 0.3, names[i - 1]))
        structure = {"input": rng.standard_normal((sizes[1], 2)), "layers": layers}
        X = rng.standard_normal((3, 2))
        Z = np.zeros((3, k))
        for _ in range(400):  # a contraction with factor ≤ 0.9: 400 steps reach the rounding floor
            Z = evaluate(structure, Z, X)
        boxes = layer_fixed_point(structure, X, Z)
        for x, z, box in zip(X, Z, boxes):
            assert all(e.certified for e in box), [e.reason for e in box]
            with ref.working_precision(40):
                def chain(*state):
                    hidden = [mpmath.mpf(v) for v in state]
                    for i, (W, b, name) in enumerate(layers):
                        drive = [mpmath.fsum(mpmath.mpf(u) * mpmath.mpf(v) for u, v in zip(row, x))
                                 for row in structure["input"]] if i == 0 else [0] * len(b)
                        hidden = [get_activation(name).mp_f(mpmath.fsum(mpmath.mpf(w) * h for w, h in zip(row, hidden))
                                                            + mpmath.mpf(c) + d) for row, c, d in zip(W, b, drive)]
                    return [s - h for s, h in zip(state, hidden)]
                root = mpmath.findroot(chain, [mpmath.mpf(v) for v in z], tol=mpmath.mpf(10) ** -35)
                root = [root[i] for i in range(k)] if isinstance(root, mpmath.matrix) else [root]
                for component, enclosure in zip(root, box):
                    assert mpmath.mpf(enclosure.low) <= component <= mpmath.mpf(enclosure.high)

    return run


def test_CERT_LAYER_krawczyk_enclosures_of_a_chain_contain_the_root():
    layer_property()()


def test_CERT_LAYER_catches_an_operator_without_its_newton_step(monkeypatch):
    """Planted: F(z̃) read as 0, so K(Z) is centred on the answer, not on its Newton step."""
    from deqverify.certify import layer

    def image_is_the_centre(chain, z):
        image, pres = original(chain, z)
        return (z if all(z[i, 0].rad() == 0 for i in range(z.nrows())) else image), pres

    original = layer._forward_balls
    monkeypatch.setattr(layer, "_forward_balls", image_is_the_centre)
    with pytest.raises(AssertionError):
        layer_property()()
