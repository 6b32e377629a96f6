"""FILE-*: trajectory files, which users keep and hand back (``Trajectory.save`` / ``load``).

FILE-TRAJ-ROUNDTRIP  any trajectory (extreme finite values, subnormals, inf/NaN risks of a
                     failed run, every status, unicode messages, nested info) saves and loads
                     back bitwise; its derived records (C(θ), r(θ), |1 − θ₂|) are the formulas
FILE-TRAJ-HOSTILE    any single damage to a saved file — a field dropped, retyped, reshaped,
                     made non-finite, times reversed, status/kind/info/version replaced, the
                     bytes truncated or flipped — is an InvalidInputError naming the file, or
                     (where the damage leaves a well-formed record) a trajectory that loads;
                     never another exception
"""

import json
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import deqverify as dv
from deqverify.theorems.checking import examples_for

EXTREME = st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=True)
JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-2**53, 2**53), EXTREME, st.text(max_size=8))
INFO = st.dictionaries(st.text(max_size=8), st.recursive(JSON_LEAF, lambda inner: st.lists(inner, max_size=3)
                                                         | st.dictionaries(st.text(max_size=4), inner, max_size=3),
                                                         max_leaves=6), max_size=4)


@st.composite
def trajectories(draw):
    records, width = draw(st.integers(1, 6)), draw(st.integers(2, 4))
    t = np.sort(draw(hnp.arrays(np.float64, records, elements=st.floats(0.0, 1e300))))
    return dv.Trajectory(
        t=t,
        theta=draw(hnp.arrays(np.float64, (records, width), elements=EXTREME)),
        risk=draw(hnp.arrays(np.float64, records, elements=st.floats())),  # NaN/inf: a failed run's record
        grad_norm=draw(hnp.arrays(np.float64, records, elements=st.floats())),
        truth=draw(hnp.arrays(np.float64, width, elements=st.floats())),
        status=draw(st.sampled_from(list(dv.RunStatus))),
        message=draw(st.text(max_size=20)),
        kind=draw(st.sampled_from(["flow", "descent"])),
        info=draw(INFO))


def _fields(path):
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def _same(a, b) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@settings(max_examples=examples_for("pointwise"), deadline=None)
@given(trajectories())
def test_FILE_TRAJ_ROUNDTRIP_save_then_load_is_the_identity(run):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "run"
        run.save(path)
        back = dv.Trajectory.load(path)
    for key in ("t", "theta", "risk", "grad_norm", "truth"):
        assert _same(getattr(back, key), getattr(run, key)), key
    assert (back.status, back.message, back.kind) == (run.status, run.message, run.kind)
    assert json.dumps(back.info, sort_keys=True) == json.dumps(run.info, sort_keys=True)
    with np.errstate(over="ignore", invalid="ignore"):  # squares of 1e300 are inf, as they should be
        theta, truth = run.theta, run.truth
        expected = {"sphere": np.sum(theta[:, :-1] ** 2, axis=1) + (theta[:, -1] - 1) ** 2,
                    "distance_to_truth": np.sum((theta - truth) ** 2, axis=1),
                    "singular_gap": np.abs(1 - theta[:, -1])}
        record = back.to_dict()
    for key, value in expected.items():
        np.testing.assert_array_equal(getattr(back, key), value)
        np.testing.assert_array_equal(np.array(record[key], dtype=float), value)


def _damages():
    """(name, function(fields) → fields or None); None: the file's bytes are damaged instead."""
    keys = ["format_version", "t", "theta", "risk", "grad_norm", "truth", "status", "message", "kind", "info"]
    return st.one_of(
        st.sampled_from(keys).map(lambda key: ("drop", key)),
        st.tuples(st.sampled_from(["t", "theta", "risk", "grad_norm", "truth"]),
                  st.sampled_from(["int", "str", "bool"])).map(lambda pair: ("retype", pair)),
        st.sampled_from(["t", "theta", "risk", "grad_norm", "truth"]).map(lambda key: ("reshape", key)),
        st.sampled_from(["t", "theta"]).map(lambda key: ("non-finite", key)),
        st.just(("reverse", "t")),
        st.tuples(st.sampled_from(["status", "kind", "info", "format_version"]),
                  st.one_of(st.text(max_size=6), st.integers(-3, 99), st.just("[1, 2]"))).map(
            lambda pair: ("replace", pair)),
        st.tuples(st.just("bytes"), st.integers(0, 4000), st.integers(0, 255)))


def _apply(damage, fields):
    kind, what = damage[0], damage[1]
    fields = dict(fields)
    if kind == "drop":
        del fields[what]
    elif kind == "retype":
        key, dtype = what
        with np.errstate(invalid="ignore"):  # a 1e300 cast to int64 is garbage, as a damaged file's is
            fields[key] = fields[key].astype({"int": np.int64, "str": np.str_, "bool": bool}[dtype])
    elif kind == "reshape":
        fields[what] = fields[what].reshape(-1)[:-1] if fields[what].size > 1 else np.ones((2, 2, 2))
    elif kind == "non-finite":
        fields[what] = fields[what].copy()
        fields[what].flat[0] = np.nan
    elif kind == "reverse":
        fields["t"] = np.r_[fields["t"], fields["t"][-1] - 1.0]
    else:
        key, value = what
        fields[key] = np.array(value)
    return fields


@settings(max_examples=examples_for("pointwise"), deadline=None)
@given(trajectories(), _damages())
def test_FILE_TRAJ_HOSTILE_a_damaged_file_is_a_typed_error_or_a_valid_record(run, damage):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "run.traj"
        run.save(path)
        if damage[0] == "bytes":
            data = bytearray(path.read_bytes())
            cut, value = damage[1] % (len(data) + 1), damage[2]
            data = data[:cut] if value % 2 else data[:cut] + bytes([value]) + data[cut + 1:]
            path.write_bytes(bytes(data))
        else:
            damaged = _apply(damage, _fields(path))
            with open(path, "wb") as handle:
                np.savez(handle, **damaged)
        try:
            back = dv.Trajectory.load(path)
        except dv.InvalidInputError as error:
            assert str(path) in str(error), error
            return
    # the damage left a well-formed record: it must be a valid trajectory
    assert back.t.ndim == 1 and back.theta.shape == (back.t.size, back.truth.size)
    assert np.all(np.isfinite(back.t)) and np.all(np.isfinite(back.theta)) and np.all(np.diff(back.t) >= 0)
    assert back.kind in ("flow", "descent") and isinstance(back.info, dict)


def _saved_fields(run):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clean"
        run.save(path)
        return _fields(path)


def test_FILE_TRAJ_HOSTILE_reaches_every_refusal():
    """The damage strategy is not vacuous: each family of damage is refused on a plain run."""
    run = dv.Trajectory(np.arange(3.0), np.ones((3, 2)), np.ones(3), np.ones(3), np.zeros(2),
                        dv.RunStatus.COMPLETED)
    fields = _saved_fields(run)
    for damage in [("drop", "t"), ("retype", ("theta", "str")), ("reshape", "risk"), ("reshape", "truth"),
                   ("non-finite", "t"),
                   ("reverse", "t"), ("replace", ("status", "sorta")), ("replace", ("kind", "x")),
                   ("replace", ("info", "[1, 2]")), ("replace", ("format_version", 99))]:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "run"
            with open(path, "wb") as handle:
                np.savez(handle, **_apply(damage, fields))
            try:
                dv.Trajectory.load(path)
            except dv.InvalidInputError:
                continue
            raise AssertionError(f"{damage} was accepted")
