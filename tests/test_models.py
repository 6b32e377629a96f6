"""Models, implicit gradients (FP-2), risks, closed forms and typed errors (FP-3)."""

import numpy as np
import pytest

import deqverify as dv
from deqverify import reference as ref
from deqverify.core.activations import SIGMOID, SINGULAR_GAP_TOL

EPS = np.finfo(float).eps


def random_problem(rng, n=50, d=4, theta2=0.5):
    X = rng.normal(size=(n, d))
    theta = np.r_[rng.normal(size=d) / np.sqrt(d), theta2]
    return X, theta


def central_difference(function, theta, h):
    columns = []
    for k in range(theta.size):
        step = np.zeros_like(theta)
        step[k] = h
        columns.append((function(theta + step) - function(theta - step)) / (2 * h))
    return np.stack(columns, axis=-1)


@pytest.mark.parametrize("contraction", [-5, -0.5, 0.3, 0.9])
def test_ift_jacobian_matches_central_differences(smooth_activation, contraction, rng):
    """FP-2: ∇_θ y by the IFT equals central differences, whose error is O(h²)."""
    model = dv.SingleIndexDEQ(smooth_activation)
    X, theta = random_problem(rng, theta2=contraction / smooth_activation.lipschitz)
    jacobian = model.output_jacobian(theta, X)

    def forward(t):
        return model.fixed_point(t, X, throw=True).value

    coarse, fine = (central_difference(forward, theta, h) for h in (1e-3, 5e-4))
    rounding = 1e3 * EPS * max(1.0, np.abs(forward(theta)).max())  # ≈ eps·|y|/h per quotient
    coarse_error = np.max(np.abs(coarse - jacobian))
    fine_error = np.max(np.abs(fine - jacobian))
    # O(h²): halving h divides the truncation error by 4, and Richardson's (4·D(h/2) − D(h))/3
    # cancels the h² term. A wrong Jacobian would leave both errors at the same plateau.
    assert fine_error <= coarse_error / 4 * 1.25 + rounding
    richardson_error = np.max(np.abs((4 * fine - coarse) / 3 - jacobian))
    assert richardson_error <= 0.1 * fine_error + rounding


def test_ift_jacobian_matches_mpmath(smooth_activation, rng):
    model = dv.SingleIndexDEQ(smooth_activation)
    X, theta = random_problem(rng, n=8, theta2=0.9 / smooth_activation.lipschitz)
    jacobian = model.output_jacobian(theta, X)
    with ref.working_precision(50):
        exact = np.array([[ref.to_float(v) for v in ref.output_and_jacobian(theta, x, smooth_activation)[1]]
                          for x in X])
    # condition 1/(1 − θ₂σ') ≤ 10 at θ₂L = 0.9; 64 eps·cond covers y's and σ's rounding
    np.testing.assert_allclose(jacobian, exact, rtol=0, atol=64 * EPS * 10 * np.abs(exact).max())


def test_risk_gradient_matches_central_differences(smooth_activation, rng):
    model = dv.SingleIndexDEQ(smooth_activation)
    X, theta = random_problem(rng, n=200, theta2=0.6 / smooth_activation.lipschitz)
    risk = dv.EmpiricalRisk.from_teacher(model, X, rng.normal(size=X.shape[1]))
    gradient = risk.gradient(theta)
    numeric = central_difference(lambda t: np.array(risk.value(t)), theta, 1e-5)
    np.testing.assert_allclose(gradient, numeric, rtol=1e-6, atol=1e-9)


def test_risk_gradient_matches_mpmath(rng):
    model = dv.SingleIndexDEQ("tanh")
    X, theta = random_problem(rng, n=6, theta2=0.7)
    targets = rng.normal(size=6)
    value, gradient = dv.EmpiricalRisk(model, X, targets).value_and_gradient(theta)
    with ref.working_precision(50):
        exact_value, exact_gradient = ref.risk_and_gradient(theta, X, targets, model.activation)
        exact_value = ref.to_float(exact_value)
        exact_gradient = np.array([ref.to_float(g) for g in exact_gradient])
    assert value == pytest.approx(exact_value, rel=1e-13)
    np.testing.assert_allclose(gradient, exact_gradient, rtol=0, atol=1e-13 * np.abs(exact_gradient).max())


def test_scalar_fast_path_equals_blocked_path(smooth_activation, rng):
    model = dv.SingleIndexDEQ(smooth_activation)
    X, theta = random_problem(rng, n=3, d=10, theta2=0.8 / smooth_activation.lipschitz)
    targets = rng.normal(size=3)
    fast = dv.EmpiricalRisk(model, X, targets).value_and_gradient(theta)
    # the same samples twice: past SCALAR_PATH_MAX_ROWS, so the batched path; same mean
    blocked = dv.EmpiricalRisk(model, np.vstack([X, X]), np.r_[targets, targets]).value_and_gradient(theta)
    assert fast[0] == pytest.approx(blocked[0], rel=1e-13)
    np.testing.assert_allclose(fast[1], blocked[1], rtol=1e-12, atol=1e-15)


def test_block_size_does_not_change_the_risk(rng):
    model = dv.SingleIndexDEQ("softplus")
    X, theta = random_problem(rng, n=1000, d=3, theta2=0.5)
    targets = rng.normal(size=1000)
    reference = dv.EmpiricalRisk(model, X, targets).value_and_gradient(theta)
    for rows in (1, 7, 333):
        value, gradient = dv.EmpiricalRisk(model, X, targets, block_rows=rows).value_and_gradient(theta)
        assert value == pytest.approx(reference[0], rel=1e-13)
        np.testing.assert_allclose(gradient, reference[1], rtol=1e-12, atol=1e-15)


def test_linear_deq_closed_form(rng):
    model = dv.LinearDEQ()
    X, theta = random_problem(rng, theta2=-2.5)
    fp = model.fixed_point(theta, X)
    np.testing.assert_allclose(fp.value, X @ theta[:-1] / 3.5, rtol=4 * EPS)
    assert fp.status is dv.Status.CONVERGED and fp.iterations == 0
    jacobian = model.output_jacobian(theta, X)
    np.testing.assert_allclose(jacobian, np.column_stack([X, fp.value]) / 3.5, rtol=4 * EPS)
    # θ₂ > 1 is fine for the linear DEQ (unique root a/(1−θ₂))
    assert model.fixed_point(np.r_[theta[:-1], 3.0], X).status is dv.Status.CONVERGED


@pytest.mark.parametrize("theta2", [1.0, 1.0 + 2 * EPS, 1.0 - EPS / 2])
def test_linear_deq_singular_theta2_raises(theta2, rng):
    X, theta = random_problem(rng, theta2=theta2)
    with pytest.raises(dv.SingularDEQError, match="move θ₂ away from 1"):
        dv.LinearDEQ().fixed_point(theta, X)
    assert abs(1 - theta2) <= SINGULAR_GAP_TOL


def test_linear_deq_just_outside_threshold_is_accurate(rng):
    X, theta = random_problem(rng, theta2=1 - 1e-12)
    fp = dv.LinearDEQ().fixed_point(theta, X)
    np.testing.assert_allclose(fp.value, X @ theta[:-1] / 1e-12, rtol=1e-3)  # 1−θ₂ rounds by ≤ 1e-4 rel


def test_relu_closed_form_and_errors(rng):
    model = dv.SingleIndexDEQ("relu")
    X, theta = random_problem(rng, theta2=0.7)
    fp = model.fixed_point(theta, X)
    np.testing.assert_allclose(fp.value, np.maximum(X @ theta[:-1], 0) / 0.3, rtol=4 * EPS)
    for bad in (1.0, 1.5):
        with pytest.raises(dv.NoFixedPointError, match="use θ₂ < 1"):
            model.fixed_point(np.r_[theta[:-1], bad], X)


def test_identity_activation_is_the_linear_deq(rng):
    X, theta = random_problem(rng, theta2=0.4)
    a = dv.SingleIndexDEQ("identity").fixed_point(theta, X).value
    b = dv.LinearDEQ().fixed_point(theta, X).value
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("contraction", [1.0, 1.03, 7.0])
def test_non_contractive_theta2_raises_with_the_fix(smooth_activation, contraction, rng):
    X, theta = random_problem(rng, theta2=contraction / smooth_activation.lipschitz)
    with pytest.raises(dv.NonContractiveError) as info:
        dv.SingleIndexDEQ(smooth_activation).fixed_point(theta, X)
    message = str(info.value)
    assert "θ₂·L" in message and "use θ₂ <" in message and smooth_activation.name in message


def test_non_monotone_activation_needs_absolute_contraction(rng):
    wave = dv.Activation("sine", np.sin, np.cos, lambda z: -np.sin(z), lipschitz=1.0,
                         monotone=False)
    X, theta = random_problem(rng, theta2=-1.2)
    with pytest.raises(dv.NonContractiveError, match=r"\|θ₂\|·L"):
        dv.SingleIndexDEQ(wave).fixed_point(theta, X)
    fp = dv.SingleIndexDEQ(wave).fixed_point(np.r_[theta[:-1], -0.6], X)
    assert fp.status is dv.Status.CONVERGED
    np.testing.assert_allclose(fp.value, np.sin(X @ theta[:-1] - 0.6 * fp.value), atol=1e-14)


def test_invalid_inputs_raise_typed_errors(rng):
    model = dv.SingleIndexDEQ()
    X, theta = random_problem(rng, n=5, d=3)
    bad_X = X.copy()
    bad_X[3, 1] = np.nan
    with pytest.raises(dv.NonFiniteInputError, match=r"X contains 1 NaN/inf.*\[\[3, 1\]\]"):
        model.fixed_point(theta, bad_X)
    with pytest.raises(dv.NonFiniteInputError, match=r"theta contains"):
        model.fixed_point(np.r_[theta[:-1], np.inf], X)
    with pytest.raises(dv.InvalidInputError, match="length d \\+ 1 = 4"):
        model.fixed_point(theta[:-1], X)
    with pytest.raises(dv.InvalidInputError, match="2-D array"):
        model.fixed_point(theta, X[0])
    with pytest.raises(dv.InvalidInputError, match="dtype"):
        model.fixed_point(theta, X.astype(str))
    with pytest.raises(dv.InvalidInputError, match="dtype"):
        model.fixed_point(theta.astype(complex), X)
    with pytest.raises(dv.InvalidInputError, match="unknown activation"):
        dv.SingleIndexDEQ("swish")
    with pytest.raises(dv.InvalidInputError, match="unknown method"):
        dv.SingleIndexDEQ(method="broyden")
    with pytest.raises(dv.InvalidInputError, match="targets"):
        dv.EmpiricalRisk(model, X, np.zeros(4))
    with pytest.raises(dv.InvalidInputError, match="do not belong"):
        dv.SingleIndexDEQ(method="picard", settings=dv.NewtonSettings())
    assert issubclass(dv.DEQError, ValueError)


def test_float32_and_integer_inputs_are_upcast(rng):
    model = dv.SingleIndexDEQ()
    X = rng.integers(-3, 4, size=(20, 3))
    theta = np.array([0.5, -0.25, 0.125, 1.0])
    reference = model.fixed_point(theta, X.astype(np.float64)).value
    assert model.fixed_point(theta, X).value.dtype == np.float64
    np.testing.assert_array_equal(model.fixed_point(theta, X).value, reference)
    np.testing.assert_array_equal(model.fixed_point(theta.astype(np.float32), X.astype(np.float32)).value,
                                  reference)  # these values are exact in float32


def test_data_at_the_float_limit_is_flagged_without_a_warning(rng):
    """Finite X whose sums meet +inf and −inf, in validation's fast sum and in θ₁ᵀx itself
    (BLAS adds a, −a, a, −a in two lanes: inf − inf = NaN; a, a, a, a overflows; a, a, −a, −a
    cancels to 0): the samples whose offset is not finite, and only they, are flagged and the
    risk refuses, with no RuntimeWarning on the way (the module runs with warnings as errors)."""
    a = 1.5e308
    X = np.vstack([[a, -a, a, -a], [a, a, a, a], [a, a, -a, -a], rng.normal(size=(9, 4))])
    theta = np.array([1.0, 1.0, 1.0, 1.0, 0.5])
    risk = dv.EmpiricalRisk(dv.SingleIndexDEQ(), X, np.zeros(12))
    result = risk.model.fixed_point(theta, X)
    with np.errstate(over="ignore", invalid="ignore"):
        offsets = X @ theta[:-1]
    np.testing.assert_array_equal(result.converged, np.isfinite(offsets))
    assert result.converged[2:].all() and result.status is dv.Status.NON_FINITE
    with pytest.raises(dv.ConvergenceError):
        risk.value_and_gradient(theta)


def test_risk_raises_when_a_solve_fails(rng):
    model = dv.SingleIndexDEQ(method="picard", settings=dv.PicardSettings(max_iter=2))
    X, theta = random_problem(rng, theta2=3.9)
    with pytest.raises(dv.ConvergenceError, match="risk is undefined"):
        dv.EmpiricalRisk(model, X, np.zeros(len(X))).value(theta)


def test_from_teacher_has_zero_risk_at_the_truth(smooth_activation, rng):
    X = rng.normal(size=(300, 5))
    xi = rng.normal(size=5)
    risk = dv.EmpiricalRisk.from_teacher(dv.SingleIndexDEQ(smooth_activation), X, xi)
    value, gradient = risk.value_and_gradient(np.r_[xi, 0.0])
    assert value <= 1e-28 and np.abs(gradient).max() <= 1e-14


def test_custom_activation_slope_floor_and_twin_requirements():
    cube = dv.Activation("softsign", lambda z: z / (1 + np.abs(z)),
                         lambda z: 1 / (1 + np.abs(z)) ** 2, lambda z: -2 * np.sign(z) / (1 + np.abs(z)) ** 3,
                         lipschitz=1.0, monotone=True)
    assert cube.slope_floor(-1, 3) == pytest.approx(1 / 16)
    assert SIGMOID.slope_floor(-2, 1) == pytest.approx(SIGMOID.df(np.float64(-2.0)))
    with pytest.raises(dv.InvalidInputError, match="mpmath twin"):
        with ref.working_precision(40):
            ref.fixed_point(0.3, 0.2, cube)
    with pytest.raises(dv.InvalidInputError, match="lipschitz"):
        dv.Activation("bad", np.tanh, np.tanh, np.tanh, lipschitz=0.0, monotone=True)
