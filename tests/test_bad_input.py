"""Bad input meets a typed error, never a hang or a silent wrong answer (regressions seen
from outside; the start of the issue-11 corpus)."""

import numpy as np
import pytest

import deqverify as dv


@pytest.fixture
def risk():
    rng = np.random.default_rng(0)
    return dv.EmpiricalRisk(dv.SingleIndexDEQ("sigmoid"), rng.standard_normal((20, 2)), rng.standard_normal(20))


THETA = np.array([0.3, -0.2, 1.0])


@pytest.mark.parametrize("steps", [2.5, float("inf"), float("nan"), -1, True, "3"])
def test_descent_refuses_non_integer_steps_instead_of_hanging(risk, steps):
    with pytest.raises(dv.InvalidInputError, match="steps must be an integer"):
        dv.gradient_descent(risk, THETA, 0.05, steps)


@pytest.mark.parametrize("step", [0.0, -0.1, float("nan"), float("inf"), "0.1", None])
def test_descent_refuses_bad_steps(risk, step):
    with pytest.raises(dv.InvalidInputError, match="step must be a positive finite number"):
        dv.gradient_descent(risk, THETA, step, 3)


@pytest.mark.parametrize("block_rows", [-1, 0, 2.5, "8"])
def test_risk_refuses_bad_block_sizes_instead_of_returning_zero(block_rows):
    X, t = np.ones((4, 1)), np.ones(4)
    with pytest.raises(dv.InvalidInputError, match="block_rows"):
        dv.EmpiricalRisk(dv.SingleIndexDEQ("sigmoid"), X, t, block_rows=block_rows)


@pytest.mark.parametrize("keyword,value", [("rtol", float("nan")), ("atol", float("nan")),
                                           ("rtol", 0.0), ("atol", -1.0)])
def test_flow_refuses_nan_or_non_positive_tolerances(risk, keyword, value):
    with pytest.raises(dv.InvalidInputError, match=keyword):
        dv.gradient_flow(risk, THETA, 1.0, **{keyword: value})


@pytest.mark.parametrize("t_max", [float("inf"), float("nan"), 0.0, None])
def test_flow_refuses_bad_horizons(risk, t_max):
    with pytest.raises(dv.InvalidInputError, match="t_max"):
        dv.gradient_flow(risk, THETA, t_max)


@pytest.mark.parametrize("n_records", [0, 1, 2.5])
def test_flow_refuses_bad_record_counts(risk, n_records):
    with pytest.raises(dv.InvalidInputError, match="n_records"):
        dv.gradient_flow(risk, THETA, 1.0, n_records=n_records)


@pytest.mark.parametrize("build,fragment", [
    (lambda: dv.SingleIndexDEQ("sigmoid", settings="fast"), "settings must be"),
    (lambda: dv.NewtonSettings(max_iter=2.5), "max_iter"),
    (lambda: dv.NewtonSettings(max_iter=0), "max_iter"),
    (lambda: dv.PicardSettings(rtol=float("nan")), "rtol"),
    (lambda: dv.AndersonSettings(atol=-1.0), "atol"),
    (lambda: dv.EmpiricalRisk.from_teacher("sigmoid", np.ones((3, 1)), [1.0]), "model must be a DEQModel"),
    (lambda: dv.EmpiricalRisk(None, np.ones((3, 1)), np.ones(3)), "model must be a DEQModel"),
    (lambda: dv.UniformPopulation("0", "1"), "real numbers"),
    (lambda: dv.UniformPopulation(1.0, 0.0), "low < high"),
    (lambda: dv.PopulationRisk(dv.LinearDEQ(), "gaussian", [1.0]), "population must be"),
    (lambda: dv.SingleIndexDEQ("sigmoid").fixed_point([0.1, 0.2], [[1.0], [2.0, 3.0]]), "ragged"),
], ids=["settings-str", "max-iter-float", "max-iter-zero", "rtol-nan", "atol-negative",
        "from-teacher-str", "risk-none", "uniform-str", "uniform-order", "population-str", "ragged-X"])
def test_construction_mistakes_are_typed_errors_with_the_fix(build, fragment):
    with pytest.raises(dv.InvalidInputError, match=fragment):
        build()


@pytest.mark.parametrize("kwargs,fragment", [
    ({"method": "Euler"}, "not a solve_ivp method"),
    ({"t_eval": [0.5, 0.2]}, "strictly increasing"),
    ({"t_eval": [0.0, 2.0]}, "within"),
    ({"t_eval": [0.0, float("nan")]}, "NaN"),
])
def test_flow_refuses_bad_methods_and_recording_times(risk, kwargs, fragment):
    with pytest.raises(dv.InvalidInputError, match=fragment):
        dv.gradient_flow(risk, THETA, 1.0, **kwargs)


@pytest.fixture
def run(risk):
    return dv.gradient_descent(risk, THETA, 0.1, 5)


def test_trajectory_files_round_trip_exactly_at_the_given_path(run, tmp_path):
    path = tmp_path / "run.traj"
    run.save(path)
    assert path.exists() and not (tmp_path / "run.traj.npz").exists()
    back = dv.Trajectory.load(path)
    for key in ("t", "theta", "risk", "grad_norm", "truth"):
        np.testing.assert_array_equal(getattr(back, key), getattr(run, key))
    assert (back.status, back.message, back.kind, back.info) == (run.status, run.message, run.kind, run.info)


def _rewrite(path, **changes):
    with np.load(path) as data:
        fields = {key: data[key] for key in data.files}
    fields.update(changes)
    for key in [k for k, v in changes.items() if v is None]:
        del fields[key]
    with open(path, "wb") as handle:
        np.savez(handle, **fields)


@pytest.mark.parametrize("damage,fragment", [
    (lambda p: p.write_bytes(p.read_bytes()[:100]), "not a deqverify trajectory"),
    (lambda p: p.write_bytes(b""), "not a deqverify trajectory"),
    (lambda p: p.write_text("t,theta\n0,1\n"), "not a deqverify trajectory"),
    (lambda p: _rewrite(p, status="sorta"), "sorta"),
    (lambda p: _rewrite(p, risk=None), "missing"),
    (lambda p: _rewrite(p, format_version=99), "format version"),
    (lambda p: _rewrite(p, theta=np.ones((2, 3))), "shapes"),
    (lambda p: _rewrite(p, risk=np.ones(2)), "risk has shape"),
    (lambda p: _rewrite(p, theta=np.full((6, 3), np.nan)), "finite"),
    (lambda p: _rewrite(p, t=np.arange(6.0)[::-1].copy()), "non-decreasing"),
    (lambda p: _rewrite(p, info="{not json"), "trajectory file"),
], ids=["truncated", "empty", "text", "status", "missing-key", "version", "shapes", "lengths",
        "nan-theta", "time-order", "info"])
def test_bad_trajectory_files_are_typed_errors(run, tmp_path, damage, fragment):
    path = tmp_path / "run.traj"
    run.save(path)
    damage(path)
    with pytest.raises(dv.InvalidInputError, match=fragment):
        dv.Trajectory.load(path)


def test_changing_the_callers_arrays_later_does_not_change_the_risk():
    rng = np.random.default_rng(3)
    X, t = rng.standard_normal((50, 2)), rng.standard_normal(50)
    risk = dv.EmpiricalRisk(dv.LinearDEQ(), X, t)
    theta = np.array([0.2, -0.3, 0.4])
    before, moment = risk.value(theta), risk.second_moment.copy()
    X *= 3.0
    t[:] = 0.0
    assert risk.value(theta) == before
    np.testing.assert_array_equal(risk.second_moment, moment)
    np.testing.assert_array_equal(risk.second_moment, risk.X.T @ risk.X / 50)
    with pytest.raises(ValueError):
        risk.X[0, 0] = 1.0  # the risk's own copy is read-only


def test_both_risk_paths_agree_on_an_overflowing_softplus_row():
    """n ≤ 4 runs Newton in Python floats (math.exp raises OverflowError), n > 4 in numpy
    (returns inf): the same inputs give the same answer, R = inf, never an untyped error."""
    theta = [1.0, 0.5, 0.3]
    answers = []
    for n in (2, 20):
        X = np.ones((n, 2))
        X[0] = [1e300, 1.0]
        value, gradient = dv.EmpiricalRisk(dv.SingleIndexDEQ("softplus"), X, np.zeros(n)).value_and_gradient(theta)
        answers.append((value, np.isinf(gradient)))
    assert answers[0][0] == answers[1][0] == np.inf
    np.testing.assert_array_equal(answers[0][1], answers[1][1])


def test_a_nan_in_a_theorem_problem_is_a_typed_error_not_a_violation():
    from deqverify.theorems import REGISTRY, Problem

    risk = dv.PopulationRisk(dv.LinearDEQ(), dv.GaussianPopulation(np.eye(2)), [1.0, 0.5])
    with pytest.raises(dv.NonFiniteInputError, match="theta0"):
        Problem(model=risk.model, risk=risk, theta0=[0.1, np.nan, 0.3])
    for field, value in (("step", "0.1"), ("t_max", -1.0), ("steps", 2.5), ("points", [[np.inf, 0, 0]])):
        with pytest.raises(dv.InvalidInputError, match=field):
            Problem(model=risk.model, risk=risk, theta0=[0.1, 0.2, 0.3], **{field: value})
    problem = Problem(model=risk.model, risk=risk, theta0=[0.1, 0.2, 0.3])  # a list is accepted
    assert REGISTRY["LIN-ORTH"].check(problem).holds


# ---- user objects are validated at construction (issue: trust round 3) -----------------------

def _tanh_parts():
    return (np.tanh, lambda z: 1 - np.tanh(z) ** 2, lambda z: -2 * np.tanh(z) * (1 - np.tanh(z) ** 2))


@pytest.mark.parametrize("change, message", [
    (dict(monotone="no"), "monotone must be True or False"),
    (dict(lipschitz="1"), "lipschitz must be a number"),
    (dict(f=lambda z: np.tanh(z)[:3]), "f must act elementwise"),
    (dict(df=lambda z: np.float64(1.0)), "df must act elementwise"),
])
def test_a_user_activation_is_validated_at_construction(change, message):
    f, df, d2f = _tanh_parts()
    kwargs = dict(name="user", f=f, df=df, d2f=d2f, lipschitz=1.0, monotone=True, **{})
    kwargs.update(change)
    with pytest.raises(dv.InvalidInputError, match=message):
        dv.Activation(**kwargs)


def test_with_parts_refuses_an_unknown_part():
    params = dv.VectorParams(0.1 * np.eye(2), np.ones((2, 1)), np.zeros(2), np.ones(2))
    with pytest.raises(dv.InvalidInputError, match=r"unknown part\(s\) \['V'\]"):
        params.with_parts(V=np.ones(2))


def test_an_unknown_statement_id_names_the_closest_one():
    from deqverify.core.errors import UnknownIdError
    from deqverify.theorems import REGISTRY

    with pytest.raises(UnknownIdError, match=r"unknown statement id 't3.1'; did you mean 'T3.1'\?"):
        REGISTRY["t3.1"]
    with pytest.raises(KeyError):  # still a KeyError for dict-style callers
        REGISTRY["no-such-statement"]
    assert REGISTRY.get("t3.1") is None  # .get keeps dict semantics
