"""Directed searches on the open questions (deqverify/campaigns/directed.py): they find what
random draws miss, say how hard they looked, refuse what they cannot search, and their records
replay like any fuzz record."""

import gzip
import json

import pytest

from deqverify.app.cli import main
from deqverify.campaigns.directed import directed_search
from deqverify.campaigns.findings import replay
from deqverify.core.errors import InvalidInputError
from deqverify.reference.ladder import Classification, classify


def test_the_jfb_search_finds_an_ascent_direction_that_mpmath_confirms():
    """Hypothesis' draws (targeting the cosine) stay above 0.75 (docs/findings.md); two restarts of the
    directed search reach a negative cosine, and the 120-digit rerun agrees."""
    report = directed_search("JFB-NONLINEAR", restarts=2, evaluations=600, seed=0)
    assert report.evaluations == 1200 and report.cpu_seconds > 0
    objective, problem, verdict = min(report.best, key=lambda best: best[0])
    assert objective < 0 and not verdict.holds
    assert classify("JFB-NONLINEAR", problem).classification is Classification.VIOLATION


@pytest.mark.parametrize("theorem_id, restarts, evaluations", [
    ("T3.1", 1, 1), ("JFB-NONLINEAR", 0, 10), ("JFB-NONLINEAR", 1, 0)])
def test_what_cannot_be_searched_is_a_typed_error(theorem_id, restarts, evaluations):
    with pytest.raises(InvalidInputError):
        directed_search(theorem_id, restarts, evaluations)


def test_a_recorded_search_replays_and_says_how_hard_it_looked(tmp_path, capsys):
    assert main(["fuzz", "--theorem", "JFB-NONLINEAR", "--directed", "--restarts", "2",
                 "--evaluations", "50", "--record", str(tmp_path)]) == 0
    assert "100 evaluations" in capsys.readouterr().out
    path = tmp_path / "JFB-NONLINEAR--all--directed.json.gz"
    record = json.loads(gzip.open(path, "rt").read())
    assert record["search"]["evaluations"] == 100 and len(record["examples"]) == 2
    [(_, outcome, changed)] = replay(tmp_path)
    assert changed == [] and outcome.examples == 2


def test_directed_with_a_dropped_assumption_is_a_cli_mistake(capsys):
    assert main(["fuzz", "--theorem", "JFB-NONLINEAR", "--drop", "A-contract", "--directed"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
