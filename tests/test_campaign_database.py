"""Nothing found is lost: a campaign saves what it finds in the cell's example database, and
the next run of the same (theorem, assumption) replays it first — in another process, with
another seed or none."""

import subprocess
import sys

from deqverify.campaign import run_campaign

RUN = ("import json, sys; from deqverify.campaign import run_campaign; "
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
