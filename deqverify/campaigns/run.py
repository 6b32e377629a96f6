"""Running theorem checks through Hypothesis outside pytest: ``verify`` and ``fuzz``.

``verify`` draws problems that satisfy every assumption of a theorem and asserts the claim;
Hypothesis shrinks the first failure to a minimal counterexample. ``fuzz`` draws problems
that break exactly one named assumption and records how often the claim still held, the
worst margin, and (if it failed) the shrunk counterexample as runnable code. Failures are
saved in a Hypothesis example database (a local directory) under the cell's own key
(:mod:`deqverify.theorems.cells`), seeded or not, and replayed first by the next run of the
same (theorem, assumption), so nothing found is lost.
"""

from __future__ import annotations

import math
import time
import unittest
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings, target
from hypothesis import seed as hypothesis_seed
from hypothesis.database import DirectoryBasedExampleDatabase

from deqverify.core.errors import DEQError, InvalidInputError
from deqverify.core.progress import ProgressBar
from deqverify.theorems import REGISTRY
from deqverify.theorems.base import finite_score
from deqverify.theorems.cells import CellDatabase, cell_name, mark
from deqverify.theorems.spec import problem_to_spec, reproduction_snippet
from deqverify.theorems.strategies import problems

DEFAULT_DATABASE = ".deqverify/examples"
VERDICTS = ("held", "violated", "refused", "error")
SEARCH_AND_SHRINK = [Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink]
"""Every phase but ``explain``, whose line tracing slows trajectory checks tenfold."""


@dataclass
class Outcome:
    """Tally of one (theorem, assumption) campaign."""

    theorem: str
    statement: str
    violated_assumption: str | None
    examples: int = 0
    held: int = 0
    violated: int = 0
    refused: int = 0
    errors: int = 0
    worst_margin: float = math.inf
    seconds: float = 0.0
    counterexample: str | None = None
    counterexample_spec: dict | None = None
    details: str = ""
    refusals: list = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.violated == 0 and self.errors == 0 and self.examples > 0 and (
            self.violated_assumption is not None or self.refused == 0)

    @classmethod
    def from_dict(cls, record: dict) -> "Outcome":
        """Inverse of :meth:`to_dict`."""
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in record.items() if k in names}
        if values.get("worst_margin") is None:
            values["worst_margin"] = math.inf
        return cls(**values)

    def to_dict(self) -> dict:
        record = asdict(self)
        record["passed"] = self.passed
        record["worst_margin"] = None if math.isinf(self.worst_margin) else self.worst_margin
        return record


class _Failure(AssertionError):
    pass


def run_campaign(theorem_id: str, violate: str | None = None, examples: int = 50,
                 seed: int | None = 0, database: str | None = DEFAULT_DATABASE,
                 progress: bool = False, replay_only: bool = False, label: str = "",
                 record: list | None = None) -> Outcome:
    """Check ``theorem_id`` on ``examples`` generated problems (see module docstring).

    Examples stored in the cell's database are replayed first, whatever the seed;
    ``replay_only`` runs those and nothing else (no generation, no shrinking). ``record``,
    a list, receives one ``{"spec", "verdict"}`` entry per tallied example (the problem as
    data and what the check said: held, violated, refused or error), so that the tally
    can be re-checked later from data alone (:func:`deqverify.campaigns.findings.replay`).
    """
    theorem = REGISTRY[theorem_id]
    outcome = Outcome(theorem_id, theorem.statement, violate)
    bar = ProgressBar(examples, label or theorem_id) if progress else None
    last_failure: dict = {}

    def evaluate(problem, raise_on_failure: bool):
        before = (outcome.held, outcome.violated, outcome.refused, outcome.errors)
        try:
            _evaluate(problem, raise_on_failure)
        finally:
            if record is not None and tallying[0]:
                after = (outcome.held, outcome.violated, outcome.refused, outcome.errors)
                changed = [name for name, b, a in zip(VERDICTS, before, after) if a != b]
                if changed:
                    record.append({"spec": problem_to_spec(problem), "verdict": changed[0]})

    tallying = [True]

    def _evaluate(problem, raise_on_failure: bool):
        try:
            verdict = theorem.check(problem)
        except Exception as error:  # noqa: BLE001 - typed refusals and crashes are tallied
            if not isinstance(error, DEQError):
                outcome.errors += 1
                message = f"{type(error).__name__}: {error}"
                if len(outcome.refusals) < 3:
                    outcome.refusals.append(f"check crashed: {message}")
                last_failure.update(problem=problem, details=f"check crashed: {message}")
                if raise_on_failure:
                    raise _Failure(message) from None
                return
            outcome.refused += 1
            if len(outcome.refusals) < 3:
                outcome.refusals.append(f"{type(error).__name__}: {error}")
            if violate is None and raise_on_failure:
                last_failure.update(problem=problem, details=f"{type(error).__name__}: {error}")
                raise _Failure(str(error)) from None
            return
        target(finite_score(verdict.margin), label="-margin")
        outcome.worst_margin = min(outcome.worst_margin, float(verdict.margin))
        if verdict.holds:
            outcome.held += 1
        else:
            outcome.violated += 1
            last_failure.update(problem=problem, details=verdict.details)
            if raise_on_failure:
                raise _Failure(verdict.details)

    cell = cell_name(theorem_id, violate)

    def make_test(raise_on_failure: bool, phases):
        def run(problem):
            outcome.examples += 1
            if bar:
                bar.update(min(outcome.examples, examples))
            evaluate(problem, raise_on_failure)

        test = given(problem=problems(theorem_id, violate))(mark(run, cell))
        if seed is not None:  # a reproducible stream; @seed alone would switch the database off
            test = hypothesis_seed(seed)(test)
        # the settings come last, so the cell's database is used, seeded or not
        return settings(max_examples=examples, deadline=None, database=_database(database, cell),
                        phases=phases, suppress_health_check=list(HealthCheck), print_blob=False,
                        report_multiple_bugs=False)(test)

    start = time.perf_counter()
    try:
        # verify: assert, so that the first failure is shrunk and saved. fuzz: first tally
        # every example without stopping, then (if anything failed) shrink one failure.
        if replay_only:
            try:
                make_test(False, [Phase.reuse])()
            except unittest.SkipTest:  # Hypothesis' signal that there was nothing to replay
                pass
        elif violate is None:
            make_test(True, SEARCH_AND_SHRINK)()
        else:
            make_test(False, [Phase.explicit, Phase.reuse, Phase.generate, Phase.target])()
            if outcome.violated or outcome.errors:
                tally = (outcome.examples, outcome.held, outcome.violated, outcome.refused,
                         outcome.errors, outcome.worst_margin)
                tallying[0] = False  # the shrinking run re-executes examples: not recorded
                try:
                    make_test(True, SEARCH_AND_SHRINK)()
                finally:  # the shrinking run re-executes examples: keep the first tally
                    (outcome.examples, outcome.held, outcome.violated, outcome.refused,
                     outcome.errors, outcome.worst_margin) = tally
    except _Failure:
        pass
    finally:
        if bar:
            bar.close()
    outcome.seconds = time.perf_counter() - start
    if "problem" in last_failure:
        outcome.counterexample = reproduction_snippet(theorem_id, last_failure["problem"])
        outcome.counterexample_spec = problem_to_spec(last_failure["problem"])
        outcome.details = last_failure["details"]
    return outcome


def example_database(location):
    """The example database at ``location``: a directory, or ``redis://host:port/db`` —
    Hypothesis' Redis backend, so that many machines fuzz into one store and each replays
    what any of them found (needs ``pip install 'deqverify[redis]'``)."""
    if str(location).startswith(("redis://", "rediss://", "unix://")):
        try:
            import redis
            from hypothesis.extra.redis import RedisExampleDatabase
        except ImportError:
            raise InvalidInputError(f"--database {location}: the Redis backend needs the "
                                    "redis package: pip install 'deqverify[redis]'") from None
        client = redis.Redis.from_url(str(location))
        try:
            client.ping()
        except redis.RedisError as error:
            raise InvalidInputError(f"--database {location}: cannot reach Redis ({error}); start "
                                    "the server or pass a directory") from None
        return RedisExampleDatabase(client)
    if "://" in str(location):
        raise InvalidInputError(f"--database {location}: only redis://, rediss:// and unix:// URLs "
                                "name a shared store; anything else is a local directory path, "
                                "which cannot contain '://'")
    Path(location).mkdir(parents=True, exist_ok=True)
    return DirectoryBasedExampleDatabase(location)


def _database(location, cell: str):
    """The cell's view of the example database at ``location``, or None."""
    return None if location is None else CellDatabase(example_database(location), cell)
