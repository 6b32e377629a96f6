"""Which clause broke, per stored problem of a fuzz record (no search: a replay).

    python docs/snippets/clause_tally.py findings/MON-WP--A-monotone.json.gz [more records]

Prints, for each record, how many stored problems broke each clause of the statement and
the smallest margin of each clause.
"""

import collections
import gzip
import json
import sys

from deqverify.theorems import REGISTRY
from deqverify.theorems.spec import problem_from_spec

for path in sys.argv[1:]:
    record = json.loads(gzip.open(path, "rt").read())
    theorem = REGISTRY[record["theorem"]]
    broken, smallest, refused = collections.Counter(), {}, 0
    for example in record["examples"]:
        try:
            verdict = theorem.check(problem_from_spec(example["spec"]))
        except ValueError:  # a typed refusal (every DEQError is a ValueError)
            refused += 1
            continue
        for clause, margin in verdict.clauses.items():
            broken[clause] += margin < 0
            smallest[clause] = min(smallest.get(clause, float("inf")), margin)
    print(f"{record['theorem']} without {record['drop']}: {len(record['examples'])} problems, {refused} refused")
    for clause in theorem.clauses:
        print(f"  {clause:12s} broken in {broken[clause]:3d}; smallest margin {smallest.get(clause, float('nan')):.3g}")
