"""Nothing found is lost: a campaign saves what it finds in the cell's example database, and
the next run of the same (theorem, assumption) replays it first — in another process, with
another seed or none."""

import subprocess
import sys

import pytest

from deqverify.campaigns.run import run_campaign

RUN = ("import json, sys; from deqverify.campaigns.run import run_campaign; "
       "o = run_campaign('T3.6', 'step-size', examples={examples}, seed={seed}, "
       "database=sys.argv[1], replay_only={replay}); "
       "print(json.dumps([o.examples, o.violated]))")


def campaign_in_a_new_process(database, examples, seed, replay=False):
    code = RUN.format(examples=examples, seed=seed, replay=replay)
    out = subprocess.run([sys.executable, "-c", code, str(database)], capture_output=True,
                         text=True, check=True).stdout
    return tuple(int(v) for v in out.strip().splitlines()[-1].strip("[]").split(","))


def test_a_violation_found_by_a_seeded_campaign_is_replayed_by_the_next_process(tmp_path):
    database = tmp_path / "examples"
    examples, violated = campaign_in_a_new_process(database, 15, seed=0)
    assert violated > 0  # T3.6 without its step bound breaks (docs/findings.md)
    assert any(path.is_file() for path in database.rglob("*"))
    replayed, replayed_violations = campaign_in_a_new_process(database, 15, seed=None, replay=True)
    assert replayed >= 1 and replayed_violations >= 1


def test_cells_do_not_share_entries(tmp_path):
    database = tmp_path / "examples"
    run_campaign("T3.6", "step-size", examples=15, seed=0, database=str(database))
    other = run_campaign("T3.6", "A-data", examples=5, seed=0, database=str(database), replay_only=True)
    assert other.examples == 0
    same = run_campaign("T3.6", "step-size", examples=5, seed=3, database=str(database), replay_only=True)
    assert same.examples >= 1


def test_an_empty_database_replays_nothing(tmp_path):
    outcome = run_campaign("LIN-ORTH", None, examples=5, seed=0, database=str(tmp_path / "db"), replay_only=True)
    assert outcome.examples == 0


@pytest.fixture
def redis_url(tmp_path):
    """A real redis-server on a free loopback port, for this test only."""
    import shutil
    import socket
    import time

    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (.ci/run installs it with apt-get where it can)")
    pytest.importorskip("redis", reason="the redis extra is not installed: pip install 'deqverify[redis]'")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(tmp_path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    else:
        process.kill()
        pytest.fail("redis-server did not start")
    yield f"redis://127.0.0.1:{port}/0"
    process.kill()
    process.wait()


def test_a_shared_redis_database_replays_in_another_process_what_one_found(redis_url):
    examples, violated = campaign_in_a_new_process(redis_url, 15, seed=0)
    assert violated > 0
    replayed, replayed_violations = campaign_in_a_new_process(redis_url, 15, seed=None, replay=True)
    assert replayed >= 1 and replayed_violations >= 1


def test_a_redis_url_without_the_redis_package_is_a_typed_error(monkeypatch):
    import builtins

    from deqverify.core.errors import InvalidInputError

    real_import = builtins.__import__

    def no_redis(name, *args, **kwargs):
        if name == "redis":
            raise ImportError("no redis")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_redis)
    with pytest.raises(InvalidInputError, match=r"deqverify\[redis\]"):
        run_campaign("LIN-ORTH", None, examples=2, database="redis://127.0.0.1:1/0")


def test_report_rebuilds_the_matrix_from_the_store(redis_url, tmp_path, capsys):
    from deqverify.app.cli import main

    campaign_in_a_new_process(redis_url, 15, seed=0)
    assert main(["fuzz", "--report", "--database", redis_url, "--out", str(tmp_path)]) == 0
    table = (tmp_path / "fuzz-matrix.md").read_text()
    assert "| T3.6 | step-size |" in table
    assert "1 of" in capsys.readouterr().out
