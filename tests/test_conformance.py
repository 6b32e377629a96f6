"""Conformance: the battery passes the built-in solver, and each planted bug fails its check."""

import json
import sys

import pytest

from deqverify.cli import main
from deqverify.conformance import CHECKS, check_implementation, read_expected_failures

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import planted_bugs  # noqa: E402


def statuses(report):
    return {r.id: r.status for r in report.records}


def test_builtin_passes_the_whole_battery():
    report = check_implementation("builtin")
    assert report.exit_code == 0, report.table()
    assert set(statuses(report)) == set(CHECKS)
    assert all(s == "passed" for s in statuses(report).values())


@pytest.mark.parametrize("implementation,check_id", [
    (planted_bugs.JacobianFreeGradient(), "gradient-ift"),
    (planted_bugs.LooseSolverClaimsSuccess(), "honest-status"),
    (planted_bugs.BatchLevelFailure(), "isolation"),
    (planted_bugs.RepellingRoot(), "multi-root"),
], ids=["jacobian-free", "loose-tolerance", "batch-corruption", "repelling-root"])
def test_planted_bug_fails_its_check(implementation, check_id):
    report = check_implementation(implementation, checks=[check_id])
    record = report.records[0]
    assert record.status == "failed", report.table()
    assert report.exit_code == 1


def test_repelling_root_note_names_the_root():
    record = check_implementation(planted_bugs.RepellingRoot(), checks=["multi-root"]).records[0]
    assert "repelling root" in record.note


def test_hanging_and_crashing_implementations_become_failed_checks():
    report = check_implementation(planted_bugs.Hangs(), checks=["gradient-ift", "determinism"], timeout=3)
    assert [r.status for r in report.records] == ["failed", "failed"]
    assert "timeout" in report.records[0].note
    report = check_implementation(planted_bugs.Crashes(), checks=["gradient-ift", "forward-accuracy"], timeout=30)
    assert report.records[0].status == "failed" and "crashed" in report.records[0].note
    assert report.records[1].status == "passed"  # the worker was restarted


def test_expected_failures_and_exit_code(tmp_path, capsys):
    listing = tmp_path / "xfail.txt"
    listing.write_text("# known\nlin-orth  # not a bug\nno-such-check # typo\n")
    assert read_expected_failures(listing) == {"lin-orth": "not a bug", "no-such-check": "typo"}
    with pytest.warns(UserWarning, match="no-such-check"):
        code = main(["check", "builtin", "--check", "lin-orth", "--expected-failures", str(listing),
                     "--json", str(tmp_path / "r.json")])
    assert code == 0
    record = json.loads((tmp_path / "r.json").read_text())["records"][0]
    assert record["status"] == "xpass"


def test_module_object_spec_loads(tmp_path):
    report = check_implementation("deqverify.conformance.adapters.builtin:BuiltinImplementation",
                                  checks=["lin-orth"])
    assert report.records[0].status == "passed"


def test_unknown_implementation_is_a_clear_error():
    with pytest.raises(RuntimeError, match="unknown implementation"):
        check_implementation("no-such-library")
