"""Which clause broke, per stored problem of a fuzz record (no search: a replay).

    python docs/snippets/clause_tally.py findings/MON-WP--A-monotone.json.gz [more records]

Prints, for each record, how many stored problems broke each clause of the statement, how
many of those breaks are *no answer or no claim* (margin −1 or −∞: the iteration did not
converge, no root was found, or the assumption's arithmetic leaves no constant, e.g. μ∞ ≥ 1
or a factor ≥ 1) rather than an observed excess, the smallest margin, and the activations of
the problems on which every clause held.
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
    broken, no_answer, smallest, refused = collections.Counter(), collections.Counter(), {}, 0
    held_by = collections.Counter()
    for example in record["examples"]:
        problem = problem_from_spec(example["spec"])
        try:
            verdict = theorem.check(problem)
        except ValueError:  # a typed refusal (every DEQError is a ValueError)
            refused += 1
            continue
        held_by[problem.model.activation.name] += verdict.holds
        for clause, margin in verdict.clauses.items():
            broken[clause] += margin < 0
            no_answer[clause] += margin == -1 or margin == float("-inf")
            smallest[clause] = min(smallest.get(clause, float("inf")), margin)
    print(f"{record['theorem']} without {record['drop']}: {len(record['examples'])} problems, {refused} refused; "
          f"held on: {dict(+held_by) or 'none'}")
    for clause in theorem.clauses:
        print(f"  {clause:12s} broken in {broken[clause]:3d} ({no_answer[clause]} no answer or no claim); "
              f"smallest margin {smallest.get(clause, float('nan')):.3g}")
