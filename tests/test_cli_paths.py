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


@pytest.mark.parametrize("content", ["{}", "[1, 2]", '[{"theorem": "T3.1"}]', "not json", ""])
def test_resume_from_a_file_that_is_not_a_matrix_is_one_line(content, tmp_path, capsys):
    """--resume reads fuzz-matrix.json: valid JSON of the wrong shape, or not JSON at all, is a
    usage error (one line, exit 2), not a traceback."""
    (tmp_path / "fuzz-matrix.json").write_text(content)
    code, err, _ = _run(["fuzz", "--matrix", "--resume", str(tmp_path), "--examples", "1"], capsys)
    assert code == 2 and err.count("\n") == 1 and "cannot resume" in err, err


def test_resume_without_matrix_is_refused(tmp_path, capsys):
    """--resume only continues a matrix: on a single-theorem run it would be ignored silently."""
    code, err, _ = _run(["fuzz", "--theorem", "FP-1", "--resume", str(tmp_path), "--examples", "1"], capsys)
    assert code == 2 and err.count("\n") == 1 and "--matrix" in err, err


def test_a_command_leaves_no_stray_hypothesis_directory(tmp_path):
    """Hypothesis' own files go under .deqverify/ with the example store, not into a
    .hypothesis/ directory wherever the command runs (a fresh interpreter: Hypothesis fixes
    its storage directory on first use)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_STORAGE_DIRECTORY"}
    completed = subprocess.run([sys.executable, "-m", "deqverify", "verify", "--theorem", "FP-1",
                                "--examples", "2", "--workers", "1"],
                               cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert not (tmp_path / ".hypothesis").exists()


@pytest.mark.parametrize("argv, content", [
    (["check", "--summary", "{file}"], "{not json"),
    (["check", "--summary", "{file}"], "[1, 2]"),
    (["check", "--summary", "{file}"], '{"implementation": "x", "records": [{"id": "protocol"}]}'),
    (["check", "builtin", "--check", "protocol", "--expected-failures", "{file}"], b"\x00\x01\xff\xfe"),
], ids=["summary-not-json", "summary-a-list", "summary-missing-fields", "xfail-binary"])
def test_a_file_read_that_is_not_what_it_should_be_is_one_line(argv, content, tmp_path, capsys):
    """Files a command reads (stored reports, expected-failure lists): bad JSON, JSON of the
    wrong shape, binary content — one line naming the file, exit 2, never a traceback."""
    path = tmp_path / "input"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    code, err, _ = _run([part.replace("{file}", str(path)) for part in argv], capsys)
    assert code == 2 and err.count("\n") == 1 and str(path) in err, err


def test_a_database_url_that_is_not_redis_is_refused(tmp_path, capsys, monkeypatch):
    """http://… used to become a local directory tree named 'http:'."""
    monkeypatch.chdir(tmp_path)
    code, err, _ = _run(["fuzz", "--theorem", "FP-1", "--examples", "1", "--workers", "1",
                         "--database", "http://example.com/db"], capsys)
    assert code == 2 and err.count("\n") == 1 and "redis://" in err, err
    assert not (tmp_path / "http:").exists()


def test_an_unreachable_redis_server_is_one_line(capsys):
    """With the redis extra installed and no server on the port: a usage error naming the
    server, not redis.ConnectionError's traceback."""
    pytest.importorskip("redis", reason="the redis extra is not installed: pip install 'deqverify[redis]'")
    code, err, _ = _run(["fuzz", "--theorem", "FP-1", "--examples", "1", "--workers", "1",
                         "--database", "redis://127.0.0.1:1/0"], capsys)
    assert code == 2 and err.count("\n") == 1 and "cannot reach Redis" in err, err


def _gzip_json(value) -> bytes:
    import gzip
    import json

    return gzip.compress(json.dumps(value).encode())


VALID_HEAD = {"format": 1, "theorem": "FP-1", "drop": None}


@pytest.mark.parametrize("content, message", [
    (b"not gzip", "not a record"),
    (b"", "not a record"),
    (_gzip_json([1, 2]), "not a record"),
    (_gzip_json({**VALID_HEAD, "theorem": "NOPE", "examples": []}), "NOPE"),
    (_gzip_json({"format": 1, "theorem": "FP-1"}), "no drop, examples"),
    (_gzip_json({**VALID_HEAD, "drop": "no-such-assumption", "examples": []}), "not an assumption"),
    (_gzip_json({**VALID_HEAD, "examples": [{"spec": {}, "verdict": "maybe"}]}), "verdict"),
    (_gzip_json({**VALID_HEAD, "examples": {"spec": {}}}), "verdict"),
], ids=["not-gzip", "empty", "a-list", "unknown-theorem", "missing-keys", "unknown-drop",
        "bad-verdict", "examples-not-a-list"])
def test_a_malformed_record_for_replay_is_one_line(content, message, tmp_path, capsys):
    """fuzz --replay reads stored records: each way a record can be malformed is one line
    naming the file, exit 2 (tracebacks before: BadGzipFile, JSONDecodeError, AttributeError,
    KeyError, AssertionError)."""
    (tmp_path / "FP-1--all.json.gz").write_bytes(content)
    code, err, _ = _run(["fuzz", "--replay", str(tmp_path)], capsys)
    assert code == 2 and err.count("\n") == 1 and message in err, err
