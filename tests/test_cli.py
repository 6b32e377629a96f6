import subprocess
import sys

import pytest

import deqverify
from deqverify.cli import main


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
