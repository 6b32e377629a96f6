"""Running a theorem check inside Hypothesis: one helper asserts the one-sided claim and
``target()``s its margin so Hypothesis drives the search towards the worst case."""

from __future__ import annotations

from hypothesis import settings, target
from hypothesis.control import currently_in_test_context

from deqverify.reference.ladder import Classification, classify
from deqverify.theorems.base import Problem, Verdict, finite_score
from deqverify.theorems.cells import cell_name, mark
from deqverify.theorems.registry import REGISTRY
from deqverify.theorems.spec import reproduction_snippet
from deqverify.theorems.strategies import problems


def check_and_target(theorem_id: str, problem: Problem) -> Verdict:
    """Run the check, report −margin to Hypothesis' targeting (maximised = worst case)."""

    verdict = REGISTRY[theorem_id].check(problem)
    if currently_in_test_context():
        target(finite_score(verdict.margin), label=f"{theorem_id} −margin")
    return verdict


def assert_holds(theorem_id: str, problem: Problem) -> Verdict:
    """Assert the theorem holds on ``problem``; the failure message carries the details, the
    constants and code that reproduces the case."""
    verdict = check_and_target(theorem_id, problem)
    if not verdict.holds:
        raise AssertionError(
            f"{theorem_id} violated (margin {verdict.margin:.3g}): {verdict.details}\n"
            f"high precision: {_classification(theorem_id, problem)}\n"
            f"constants: {verdict.constants}\nreproduce with:\n"
            f"{reproduction_snippet(theorem_id, problem)}")
    return verdict


def _classification(theorem_id: str, problem: Problem) -> str:
    """The mpmath ladder's verdict on a float64 failure, phrased for the failure message."""

    result = classify(theorem_id, problem)
    if result.classification is Classification.CERTIFIED:
        return (f"{result} — the claim provably holds (ball arithmetic): the derived tolerance "
                "of the check is wrong (still a failure)")
    if result.classification is Classification.ROUNDING:
        return (f"{result} — the claim holds in mpmath: this float64 failure is rounding, so "
                "the derived tolerance of the check is wrong (still a failure)")
    return str(result)


def examples_for(kind: str) -> int:
    """Examples per property under the active profile: the profile's count for pointwise
    statements, a quarter of it (≥ 10) for trajectory statements (ci: 100 and 25)."""
    count = settings.default.max_examples
    return count if kind == "pointwise" else max(10, count // 4)


def theorem_property(theorem_id: str, violate: str | None = None):
    """A Hypothesis test asserting ``theorem_id`` on generated problems (``violate`` breaks
    one assumption: then the test asserts the claim anyway, which is what fuzzing wants)."""

    def run(problem):
        assert_holds(theorem_id, problem)

    return cell_property(run, theorem_id, violate, problems(theorem_id, violate),
                         examples_for(REGISTRY[theorem_id].kind),
                         label=None if violate is None else f"without-{violate}")


def cell_property(function, theorem_id: str, violate: str | None, strategy, examples: int,
                  label: str | None = None):
    """``function(problem)`` as a Hypothesis test of its own cell: a distinct database key
    and stream per (theorem, assumption[, label]) through public API (the signature mark of
    :mod:`deqverify.theorems.cells`), in the profile's own database — which HypoFuzz
    requires of the tests it fuzzes."""
    from hypothesis import given

    cell = cell_name(theorem_id, violate) + (f" [{label}]" if label else "")
    test = settings(max_examples=examples)(given(problem=strategy)(mark(function, cell)))
    test.__name__ = f"test_{theorem_id.replace('-', '_').replace('.', '_')}" + (
        f"_{label.replace('-', '_')}" if label else "")
    return test
