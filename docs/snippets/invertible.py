"""VEC-INVERTIBLE from the stored record: rerun every stored flow (no search) and print the
smallest ratio min_t σ_min(I − W(t)) / σ_min(I − W(0)) with its start.

    python docs/snippets/invertible.py
"""

import gzip
import json
from pathlib import Path

import numpy as np

from deqverify.theorems import REGISTRY
from deqverify.theorems.spec import problem_from_spec

record = json.loads(gzip.open(Path(__file__).parents[2] / "findings" / "VEC-INVERTIBLE--all.json.gz", "rt").read())
rows = []
for index, example in enumerate(record["examples"]):
    problem = problem_from_spec(example["spec"])
    verdict = REGISTRY["VEC-INVERTIBLE"].check(problem)
    rows.append((verdict.margin, index, verdict, problem))
rows.sort(key=lambda row: row[0])
print(f"{len(rows)} stored flows, {sum(r[2].holds for r in rows)} never approached a singular I − W")
print(f"median ratio {np.median([r[0] for r in rows]):.3g}; smallest σ_min reached "
      f"{min(r[2].constants['sigma_min_min'] for r in rows):.3g}; largest final risk "
      f"{max(r[2].constants['risk_final'] for r in rows):.3g}")
margin, index, verdict, problem = rows[0]
print(f"smallest ratio {margin:.3g} (example {index}, {type(problem.risk).__name__}, k = "
      f"{problem.model.width}): {verdict.details}")
print("start θ₀ =", np.array2string(problem.theta0, precision=4, max_line_width=100))
