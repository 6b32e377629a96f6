import os
import subprocess
import sys

import pytest

import deqverify
from deqverify.app.cli import main


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert deqverify.__version__ in capsys.readouterr().out


def test_solve_reports_status_residual_iterations_and_speedup(capsys):
    assert main(["solve", "--activation", "sigmoid", "--theta2", "3.6", "--n", "2000",
                 "--d", "5", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    for word in ("status=converged", "residual=", "iterations=", "time=", "× over Picard"):
        assert word in out


def test_solve_without_picard_for_non_contractive_theta2(capsys):
    assert main(["solve", "--activation", "tanh", "--theta2", "-5", "--n", "100", "--d", "3"]) == 0
    assert "picard      not applicable" in capsys.readouterr().out


def test_ill_posed_input_gives_exit_code_2_and_the_fix(capsys):
    assert main(["solve", "--theta2", "5", "--n", "10", "--d", "2"]) == 2
    assert "use θ₂ <" in capsys.readouterr().err


def test_console_script_entry_point_runs():
    completed = subprocess.run([sys.executable, "-m", "deqverify", "--version"],
                               capture_output=True, text=True, check=True)
    assert deqverify.__version__ in completed.stdout


def _fake_campaigns(monkeypatch, interrupt_at=None):
    """run_campaign replaced by an instant fake; the call number interrupt_at raises Ctrl-C."""
    from deqverify.campaigns import run as campaign

    calls = []

    def fake(theorem_id, violate, examples, seed, database, progress=False, label="", record=None):
        calls.append((theorem_id, violate))
        if interrupt_at is not None and len(calls) == interrupt_at:
            raise KeyboardInterrupt
        return campaign.Outcome(theorem_id, "statement", violate, examples=examples, held=examples)

    monkeypatch.setattr(campaign, "run_campaign", fake)
    return calls


def test_ctrl_c_on_verify_keeps_what_finished_and_exits_130(monkeypatch, tmp_path, capsys):
    import json

    _fake_campaigns(monkeypatch, interrupt_at=3)
    report = tmp_path / "verify.json"
    assert main(["verify", "--json", str(report), "--workers", "1"]) == 130
    out = capsys.readouterr().out
    assert "interrupted: 2 finished" in out and "Traceback" not in out
    assert [row["theorem"] for row in json.loads(report.read_text())] == ["FP-1", "FP-2"]


def test_matrix_writes_rows_as_it_goes_and_resumes(monkeypatch, tmp_path, capsys):
    import json

    from deqverify.theorems import REGISTRY

    total = sum(len(t.assumptions) + t.open_question for t in REGISTRY.values())  # + open questions as stated
    _fake_campaigns(monkeypatch, interrupt_at=4)
    assert main(["fuzz", "--matrix", "--out", str(tmp_path), "--workers", "1"]) == 130
    assert len(json.loads((tmp_path / "fuzz-matrix.json").read_text())) == 3
    calls = _fake_campaigns(monkeypatch)
    assert main(["fuzz", "--matrix", "--resume", str(tmp_path), "--workers", "1"]) == 0
    assert len(calls) == total - 3
    assert len(json.loads((tmp_path / "fuzz-matrix.json").read_text())) == total


@pytest.mark.parametrize("argv,fragment", [
    (["fuzz", "--theorem", "FOO", "--drop", "A-data"], "unknown theorem id"),
    (["fuzz", "--theorem", "T3.6", "--drop", "nosuch"], "has no assumption"),
    (["fuzz", "--theorem", "T3.6", "--drop", "step-size", "--examples", "0"], "at least 1"),
    (["fuzz"], "give --theorem"),
    (["verify", "--theorem", "NOPE"], "unknown theorem id"),
    (["fuzz", "--matrix", "--resume", "/no/such/dir"], "cannot resume"),
])
def test_campaign_usage_errors_are_one_line_exit_2(argv, fragment, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert fragment in err and len(err.strip().splitlines()) == 1


def test_progress_frames_go_to_a_terminal_only(tmp_path):
    completed = subprocess.run([sys.executable, "-m", "deqverify", "verify", "--theorem", "LIN-ORTH",
                                "--examples", "3", "--database", str(tmp_path / "db")],
                               capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout
    assert "\r" not in completed.stderr and completed.stderr == ""


def test_a_recorded_campaign_replays_exactly_and_a_changed_verdict_is_caught(tmp_path, capsys):
    import gzip
    import json

    record = tmp_path / "record"
    assert main(["fuzz", "--theorem", "T3.6", "--drop", "step-size", "--examples", "8",
                 "--record", str(record), "--database", str(tmp_path / "db"), "--quiet"]) == 0
    assert main(["fuzz", "--replay", str(record), "--out", str(tmp_path / "matrix")]) == 0
    assert "1 of 1 records reproduce exactly" in capsys.readouterr().out
    assert (tmp_path / "matrix" / "fuzz-matrix.md").exists()
    (path,) = record.glob("*.json.gz")
    with gzip.open(path, "rt") as handle:
        data = json.load(handle)
    assert data["produced_by"]["hypothesis"] and data["tally"]["violated"] > 0
    data["examples"][0]["verdict"] = "held" if data["examples"][0]["verdict"] != "held" else "violated"
    with gzip.open(path, "wt") as handle:
        json.dump(data, handle)
    assert main(["fuzz", "--replay", str(record)]) == 1
    assert "stored verdict(s) changed" in capsys.readouterr().out
    assert main(["fuzz", "--replay", str(tmp_path / "nothing")]) == 2


def test_parallel_workers_give_the_same_tallies_as_one_process(tmp_path, capsys):
    import json

    cells = ["--theorem", "LIN-ORTH", "--theorem", "FP-1", "--theorem", "PL", "--examples", "6"]
    for workers in ("1", "2"):
        assert main(["verify", *cells, "--workers", workers, "--quiet", "--database",
                     str(tmp_path / f"db{workers}"), "--json", str(tmp_path / f"{workers}.json")]) == 0
    one, two = (json.loads((tmp_path / f"{w}.json").read_text()) for w in ("1", "2"))
    assert [(r["theorem"], r["examples"], r["held"]) for r in one] == \
        [(r["theorem"], r["examples"], r["held"]) for r in two]


@pytest.mark.parametrize("argv,fragment", [
    (["solve", "--n", "-5"], "positive integer"),
    (["solve", "--d", "x"], "positive integer"),
    (["verfy"], "invalid choice"),
    (["check", "builtin", "--timeout", "soon"], "invalid float"),
])
def test_argument_mistakes_are_one_line_exit_2(argv, fragment, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert fragment in err and len(err.strip().splitlines()) == 1


def test_classify_is_exported_from_the_reference_package():
    from deqverify.reference import classify
    from deqverify.reference.ladder import classify as original

    assert classify is original


def test_worker_environment_sets_only_what_the_user_left_unset(monkeypatch):
    from deqverify.app.cli import SINGLE_THREADED_BLAS, _environment

    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    with _environment(SINGLE_THREADED_BLAS):
        assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
        assert os.environ["OMP_NUM_THREADS"] == "7"  # the user's choice stands
    assert "OPENBLAS_NUM_THREADS" not in os.environ
    assert os.environ["OMP_NUM_THREADS"] == "7"
