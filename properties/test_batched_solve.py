"""REF-VEC-SOLVE: the batched solve of (I − diag(s)W)x = r and of its transpose, behind every
vector Newton step and adjoint, against LAPACK's pivoting solve per sample.

Where q = ‖W‖₂L < 1 the numpy path eliminates without pivoting, interleaved over a block of
samples (:mod:`deqverify.core.interleaved_elimination`, for k ≤ 8); elsewhere it is LAPACK with
pivoting. Both are backward stable here with backward error ≤ c·k·eps·‖A‖ (Higham, Thm 9.4; no
pivoting is needed where the symmetric part is positive definite), so each forward error is
≤ cond₂(A) times that: the answers must agree within 16·k·eps·cond₂(Aₙ)·‖xₙ‖ per sample, 16
covering the two errors and the growth factor. Tested where q < 1 (the elimination runs) and
where q ≥ 1 (the dispatcher must take LAPACK; a zero leading pivot is planted there).

The compiled kernel of the ``[fast]`` extra is held to the same property (FAST-SOLVE, in
``test_fast_kernels.py``, with the strategy and the measure of this module); here the numpy path
runs, with its planted bugs.
"""

from __future__ import annotations

import inspect
import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deqverify.core import compiled, interleaved_elimination
from deqverify.core.solve import EPS
from deqverify.core.vector_solve import solve_identity_minus_scaled

SOLVE_ALLOWANCE = 16
"""c in |x − x_ref| ≤ c·k·eps·cond₂(A)·‖x_ref‖ (see the module docstring)."""
CONDITION_LIMIT = 1e10
"""Samples with cond₂(A) above this are not compared: a solve there has ≤ 6 correct digits on
either path, and a pivot-free one may lose them all without being wrong by its own standard."""


@st.composite
def scaled_systems(draw):
    """(slope, W, rhs, transpose, q): n systems I − diag(sₙ)W of size k with ‖W‖₂L = q
    (L = 1: slopes in [0, 1]). Where q ≥ 1 the first system's leading pivot is planted at
    exactly 0 (s₀₀W₀₀ = 1): only a pivoting solve answers it."""
    seed = draw(st.integers(0, 2**32 - 1))
    k = draw(st.integers(1, 17))
    n = draw(st.sampled_from([1, 2, 31, 32, 33, 64, 65, 100]))
    q = draw(st.sampled_from([0.1, 0.5, 0.9, 0.99, 1.5, 3.0]))
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((k, k))
    W *= q / np.linalg.norm(W, 2)
    slope = rng.uniform(0.0, 1.0, (n, k))
    if q >= 1.0:
        slope[0, 0] = W[0, 0] = 1.0
        q = np.linalg.norm(W, 2)  # still ≥ |W₀₀| = 1
    rhs = rng.standard_normal((n, k)) * 10.0 ** rng.uniform(-3, 3)
    return slope, W, rhs, draw(st.booleans()), q


def worst_solve_ratio(solver, slope, W, rhs, transpose, q) -> float:
    """max over samples of |x_solver − x_ref| / (16·k·eps·cond₂(Aₙ)·‖x_ref‖), x_ref from
    LAPACK with pivoting per sample; +inf for a non-finite answer where the reference is
    finite. Ill-conditioned samples (cond > 1e10) are left out."""
    k = W.shape[0]
    got = solver(slope, W, rhs, transpose=transpose, q=q)
    worst = 0.0
    for s, r, x in zip(slope, rhs, got):
        A = np.eye(k) - s[:, None] * W
        A = A.T if transpose else A
        condition = np.linalg.cond(A)
        if not condition < CONDITION_LIMIT:
            continue
        reference = np.linalg.solve(A, r)
        if not np.all(np.isfinite(x)):
            return np.inf
        allowed = SOLVE_ALLOWANCE * k * EPS * condition * max(np.linalg.norm(reference), np.finfo(float).tiny)
        worst = max(worst, float(np.linalg.norm(x - reference)) / allowed)
    return worst


def solve_property(solver, label="REF-VEC-SOLVE"):
    """The agreement above for ``solver`` (the dispatcher, or a planted variant of it)."""

    @settings(max_examples=60)
    @given(scaled_systems())
    def prop(system):
        assert worst_solve_ratio(solver, *system) <= 1.0, label

    return prop


def test_REF_VEC_SOLVE_the_numpy_path_matches_the_pivoting_reference():
    with compiled.numpy_only():
        solve_property(solve_identity_minus_scaled)()


def planted_module(module, *changes: tuple[str, str]):
    """``module`` executed again from its source with lines changed (a numba kernel uncached)."""
    source = inspect.getsource(module)
    for old, new in changes:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    planted = types.ModuleType(f"planted_{module.__name__.rsplit('.', 1)[-1]}")
    exec(compile(source.replace("cache=True", "cache=False"), "<planted>", "exec"), planted.__dict__)
    return planted


def _numpy_dispatcher(elimination, ignore_precondition=False):
    def solver(slope, W, rhs, *, transpose=False, q=np.inf):
        if (q < 1.0 or ignore_precondition) and W.shape[0] <= interleaved_elimination.MAX_WIDTH:
            return elimination(slope, W, rhs, transpose)
        with compiled.numpy_only():
            return solve_identity_minus_scaled(slope, W, rhs, transpose=transpose, q=q)

    return solver


def _planted(*changes):
    return _numpy_dispatcher(planted_module(interleaved_elimination, *changes).solve_interleaved)


PLANTED = {
    "the last sample of every block left unsolved (off by one in the block loop)":
        # the output zeroed first, so that what is left unsolved is wrong on every run
        _planted(("stop = min(start + block, n)", "stop = min(start + block, n) - 1"),
                 ("out = np.empty((n, k))", "out = np.zeros((n, k))")),
    "the transposed system built untransposed":
        _planted(("A = W.T[:, :, None] * slope[None, :, :]", "A = W[:, :, None] * slope[:, None, :]")),
    "elimination stops one column early":
        _planted(("for p in range(k - 1):", "for p in range(k - 2):")),
    "the pivot-free elimination run without a contraction":
        _numpy_dispatcher(interleaved_elimination.solve_interleaved, ignore_precondition=True),
}


@pytest.mark.parametrize("bug", sorted(PLANTED))
def test_REF_VEC_SOLVE_catches_planted_bug(bug):
    with pytest.raises(AssertionError):
        solve_property(PLANTED[bug])()


def test_the_numpy_path_takes_the_pivot_free_elimination_where_it_may():
    """q < 1 and k ≤ 8: the elimination (observed through the planted zero pivot, which it
    cannot survive, answered with the precondition waived); q ≥ 1: LAPACK, which answers it."""
    W = np.array([[2.0, 0.5], [0.3, 0.1]])
    slope = np.array([[0.5, 0.5]])  # 1 − s₀W₀₀ = 0: a zero leading pivot
    rhs = np.array([[1.0, 2.0]])
    with compiled.numpy_only():
        answer = solve_identity_minus_scaled(slope, W, rhs, q=np.linalg.norm(W, 2))
        waived = solve_identity_minus_scaled(slope, W, rhs, q=0.5)  # a false q < 1: elimination
    np.testing.assert_allclose(answer[0], np.linalg.solve(np.eye(2) - slope[0][:, None] * W, rhs[0]))
    assert not np.all(np.isfinite(waived))
