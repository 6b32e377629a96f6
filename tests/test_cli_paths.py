"""Every command that writes a file or a directory refuses an unusable path with one line and
exit 2 *before* it does any work (a whole run's results are never lost to a bad path)."""

import time

import pytest

from deqverify.app.cli import main

FILE_FLAGS = [(["verify", "--theorem", "FP-1", "--examples", "1"], "--json"),
              (["check", "builtin", "--check", "protocol"], "--json"),
              (["check", "builtin", "--check", "protocol"], "--html")]
DIR_FLAGS = [(["reproduce", "--quick"], "--out"),
             (["fuzz", "--theorem", "FP-1", "--examples", "1"], "--out"),
             (["fuzz", "--theorem", "FP-1", "--examples", "1"], "--record")]


def _run(argv, capsys):
    start = time.perf_counter()
    code = main(argv)
    err = capsys.readouterr().err
    return code, err, time.perf_counter() - start


@pytest.mark.parametrize("argv, flag", FILE_FLAGS, ids=[f"{a[0]}{f}" for a, f in FILE_FLAGS])
@pytest.mark.parametrize("target, message", [("a-directory", "is a directory"),
                                             ("missing/parent/out.json", "does not exist")])
def test_an_output_file_path_is_refused_before_the_work(argv, flag, target, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-directory").mkdir()
    code, err, seconds = _run(argv + [flag, target], capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert seconds < 5  # refused up front: no check, statement or experiment ran


@pytest.mark.parametrize("argv, flag", DIR_FLAGS, ids=[f"{a[0]}{f}" for a, f in DIR_FLAGS])
@pytest.mark.parametrize("target, message", [("a-file", "is a file"),
                                             ("missing/parent/dir", "does not exist")])
def test_an_output_directory_path_is_refused_before_the_work(argv, flag, target, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("x")
    code, err, seconds = _run(argv + [flag, target], capsys)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert seconds < 5
