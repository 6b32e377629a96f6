"""What every check shares: its record, the scoring rules and the problems it poses.

Scoring rules (the point of a hostile checker):

* a non-finite value where a finite one is due is an error of +inf, never 0;
* a raise where an answer is due is an error of +inf;
* where a flag is allowed (hard or ill-posed problems) a flagged sample is excused and an
  unflagged one must be right, and the check also poses a well-posed twin on which a finite
  correct answer is due — so an implementation that flags everything fails.

References come from :mod:`deqverify.reference.bracket` (per-sample bisection with its own
σ) and mpmath, never from the built-in solver, so ``check builtin`` is not circular.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from deqverify.conformance.calls import Answer, Harness
from deqverify.conformance.loader import ADAPTERS
from deqverify.reference import bracket

RNG_SEED = 20251116
SMOOTH = ("sigmoid", "tanh", "softplus")
DUE_THRESHOLD = 1e-8
"""Relative forward error allowed where an answer is due: the problems posed have
cond = 1/(1 − θ₂σ') ≤ 100 and the reference is within ≈ 2·eps·cond·scale ≤ 5e-14 of the
root, so 1e-8 only admits solvers that stopped at a tolerance of about 1e-10 or better."""


@dataclass
class CheckResult:
    id: str
    cites: str
    status: str  # "passed" | "failed" | "skipped" | "error" | "xfail" | "xpass"
    worst_error: float = float("nan")
    threshold: float = float("nan")
    note: str = ""
    counterexample: str = ""
    output: str = ""
    metrics: dict = field(default_factory=dict)

    def to_dict(self):
        return dict(self.__dict__)


class Check:
    """A check: ``run(harness)`` poses problems and returns a :class:`CheckResult`."""

    id = ""
    cites = ""
    threshold = 0.0
    family = "scalar"
    """The protocol family the check needs ("scalar", "vector", "layer"), or "any"."""

    def run(self, h: Harness) -> CheckResult:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def description(cls) -> str:
        """The first paragraph of the docstring of the method that does the work."""
        for method in ("run_layer", "run_vector", "run"):
            doc = getattr(getattr(cls, method, None), "__doc__", None)
            if doc:
                return " ".join(doc.strip().split("\n\n")[0].split())
        return ""

    def result(self, worst, note="", counterexample="", status=None) -> CheckResult:
        worst = float(worst)
        if worst != worst:  # a NaN score is never a pass
            worst = float("inf")
        if status is None:
            status = "passed" if worst <= self.threshold else "failed"
        return CheckResult(self.id, self.cites, status, worst, self.threshold, note,
                           "" if status == "passed" else counterexample)

    def skip(self, note) -> CheckResult:
        return CheckResult(self.id, self.cites, "skipped", threshold=self.threshold, note=note)


# ---- scoring --------------------------------------------------------------------------

def sample_errors(value: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """|v − r| / max(1, |r|) per sample; a non-finite v (with r finite) is +inf."""
    with np.errstate(invalid="ignore", over="ignore"):
        errors = np.abs(value - reference) / np.maximum(1.0, np.abs(reference))
    return np.where(np.isfinite(errors), errors, np.inf)


def due_error(answer: Answer, reference: np.ndarray) -> float:
    """Worst error where an answer is due: a raise or any non-finite sample is +inf."""
    if not answer.ok:
        return float("inf")
    return float(np.max(sample_errors(answer.value, reference), initial=0.0))


def unflagged_error(answer: Answer, reference: np.ndarray) -> float:
    """Worst error over the samples the implementation did not flag."""
    if not answer.ok:
        return 0.0
    errors = sample_errors(answer.value, reference)
    return float(np.max(errors[~answer.flagged(reference.size)], initial=0.0))


def gradient_error(answer: Answer, reference: np.ndarray) -> float:
    """max |g − g*| / max |g*|; a raise or a non-finite component is +inf."""
    if not answer.ok:
        return float("inf")
    with np.errstate(invalid="ignore", over="ignore"):
        error = float(np.max(np.abs(answer.value - reference)) / np.max(np.abs(reference)))
    return error if np.isfinite(error) else float("inf")


# ---- problems and references --------------------------------------------------------

def problem(activation: str, contraction: float, n: int = 64, d: int = 3, seed: int = 0,
            spread: float = 1.0):
    """θ = (θ₁, θ₂) with θ₂·L = ``contraction``, X ~ N(0, spread²), targets ~ N(0, 1/4)."""
    rng = np.random.default_rng(RNG_SEED + seed)
    X = rng.standard_normal((n, d)) * spread
    theta = np.r_[rng.standard_normal(d) / np.sqrt(d), contraction / bracket.lipschitz(activation)]
    targets = rng.standard_normal(n) * 0.5
    return theta, X, targets


LINEAR_DUE = (0.3, -0.6)
"""Linear-DEQ couplings with |θ₂| < 1: y = θ₁ᵀx/(1 − θ₂) is unique and iteration contracts,
so an answer is due."""
LINEAR_STEEP = (-1.5, 2.5)
"""|θ₂| > 1 on both sides of θ₂ = 1: the root is unique but iteration diverges, the linear
twin of θ₂L < −1 — the same rule applies (right, or flagged)."""


def linear_problem(theta2: float, seed: int = 0):
    """(θ, X, targets) of the linear DEQ with coupling ``theta2``."""
    theta, X, targets = problem("identity", 0.0, seed=seed)
    theta[-1] = theta2
    return theta, X, targets


def reference_y(theta, X, activation: str) -> np.ndarray:
    """The unique root for every row, by bracketed bisection (independent of the core)."""
    return bracket.fixed_points(np.asarray(X) @ theta[:-1], theta[-1], activation)


def reference_gradient(theta, X, targets, activation: str) -> np.ndarray:
    return bracket.risk_and_gradient(theta, X, targets, activation)[1]


def residuals(y, theta, X, activation: str) -> np.ndarray:
    """|y − σ(θ₁ᵀx + θ₂y)| per sample (NaN where y is not finite)."""
    with np.errstate(invalid="ignore", over="ignore"):
        return np.abs(y - bracket.value(activation, np.asarray(X) @ theta[:-1] + theta[-1] * y))


def smooth(h: Harness) -> list[str]:
    return [a for a in SMOOTH if a in h.capabilities.activations]


TWIN_THRESHOLD = 1e-3
"""The well-posed twin tests that a flag is *specific*, not how accurate the solver is (that
is forward-accuracy's job): an unflagged answer within 1e-3 relative — what any solver that
actually solves gives at θ₂L = 0.5, even with a loose tolerance — counts as an answer."""


def twin_penalty(h: Harness, activation: str, n: int = 16):
    """(penalty, note) for the well-posed twin (θ₂L = 0.5, or θ₂ = 0.5 for the linear DEQ),
    where an unflagged, finite answer is due: what makes a flag elsewhere credible. The
    penalty is +inf when a twin sample is flagged or off by more than :data:`TWIN_THRESHOLD`."""
    theta, X, _ = problem(activation, 0.5, n=n, seed=99)
    answer = h.forward(theta, X, activation)
    error = due_error(answer, reference_y(theta, X, activation))
    flagged = answer.ok and bool(answer.flagged(n).any())
    penalty = 0.0 if error <= TWIN_THRESHOLD and not flagged else float("inf")
    return penalty, f"well-posed twin ({activation}, θ₂L = 0.5): {describe_error(answer, error)}"


def with_twin(h: Harness, worst: float, notes: list, activation: str | None = None) -> float:
    """``worst`` raised to +inf unless the well-posed twin is answered; its note appended."""
    penalty, note = twin_penalty(h, activation or smooth(h)[0])
    notes.append(note)
    return max(worst, penalty)


def forward_flag_note(h: Harness, theta, X, activation: str) -> str:
    """For the note of a wrong gradient: whether the implementation's own forward pass flags
    the same problem (then the finite gradient contradicts its own flag: a gradient of a
    flagged fixed point must be flagged too)."""
    n = np.asarray(X).shape[0]
    answer = h.forward(theta, X, activation)
    flagged = int(np.sum(answer.flagged(n)))
    if not flagged:
        return ""
    how = answer.describe() if not answer.ok or not np.all(np.isfinite(answer.value)) else "reported not converged"
    return (f" — a finite gradient although the forward pass on the same problem is flagged on "
            f"{flagged} of {n} samples ({how})")


def describe_error(answer: Answer, error: float) -> str:
    """"error 3e-09", or what made it infinite: "raised …" or "k of n non-finite" (a note
    never says "inf" where it can say which samples)."""
    if answer.ok and not np.isfinite(error) and np.all(np.isfinite(answer.value)):
        return "error inf"
    return answer.describe() if not answer.ok or not np.isfinite(error) else f"error {error:.2g}"


# ---- counterexamples as code -------------------------------------------------------------

def _literal(array) -> str:
    return f"np.array({np.asarray(array).tolist()})"


def _loader(name: str) -> str:
    if name in ADAPTERS or ":" in name:
        return f"from deqverify.conformance import load_implementation\nimpl = load_implementation({name!r})"
    return f"impl = ...  # {name}, the implementation under test"


def snippet(name: str, method: str, theta, X, activation: str, expected, targets=None) -> str:
    """Runnable code that repeats one call, with what a correct implementation returns."""
    args = f"{_literal(theta)}, {_literal(X)}"
    if targets is not None:
        args += f", {_literal(targets)}"
    return (f"import numpy as np\n{_loader(name)}\nprint(impl.{method}({args}, {activation!r}))\n"
            f"# expected: {expected}")


def batch_snippet(name: str, setup: str, call: str, expected) -> str:
    """Runnable code for a failure that needs the whole batch: ``setup`` rebuilds it with the
    check's own deterministic generators (no rows are dropped), ``call`` is printed."""
    return f"import numpy as np\n{_loader(name)}\n{setup}\nprint({call})\n# expected: {expected}"
