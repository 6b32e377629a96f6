"""The conformance battery: stable check ids, each citing the statement it tests.

Every check takes an implementation and returns a :class:`CheckResult` with the worst error
found, the threshold, and a minimal counterexample as runnable code. References come from
the built-in float64 solver, and from mpmath on the edge cases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import reference as ref
from ..activations import get_activation
from ..models import LinearDEQ, SingleIndexDEQ
from ..risk import EmpiricalRisk

RNG_SEED = 20251116


@dataclass
class CheckResult:
    id: str
    cites: str
    status: str  # "passed" | "failed" | "skipped" | "error" | "xfail" | "xpass"
    worst_error: float = float("nan")
    threshold: float = float("nan")
    note: str = ""
    counterexample: str = ""

    def to_dict(self):
        return dict(self.__dict__)


def _snippet(spec_name, call, expected):
    return (f"import numpy as np\nfrom deqverify.conformance import load_implementation\n"
            f"impl = load_implementation({spec_name!r})\n{call}\n# expected: {expected}")


def _call_code(method, theta, X, activation, targets=None):
    args = f"np.array({np.asarray(theta).tolist()}), np.array({np.asarray(X).tolist()})"
    if targets is not None:
        args += f", np.array({np.asarray(targets).tolist()})"
    return f"print(impl.{method}({args}, {activation!r}))"


def _reference_y(theta, X, activation):
    model = LinearDEQ() if activation == "identity" else SingleIndexDEQ(activation)
    return model.fixed_point(theta, X, throw=True).value


def _reference_gradient(theta, X, targets, activation):
    model = LinearDEQ() if activation == "identity" else SingleIndexDEQ(activation)
    return EmpiricalRisk(model, X, targets).gradient(theta)


def _problem(activation, contraction, n=64, d=3, seed=0):
    rng = np.random.default_rng(RNG_SEED + seed)
    X = rng.standard_normal((n, d))
    lip = get_activation(activation).lipschitz
    theta = np.r_[rng.standard_normal(d) / np.sqrt(d), contraction / lip]
    targets = rng.standard_normal(n) * 0.5
    return theta, X, targets


def _smooth(impl):
    return [a for a in ("sigmoid", "tanh", "softplus") if a in impl.capabilities.activations]


def _relative(a, b):
    return float(np.max(np.abs(np.asarray(a) - b) / np.maximum(1.0, np.abs(b))))


class Check:
    id = ""
    cites = ""
    threshold = 0.0

    def run(self, impl, name) -> CheckResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def result(self, status, worst=float("nan"), note="", counterexample=""):
        return CheckResult(self.id, self.cites, status, worst, self.threshold, note, counterexample)


class ForwardAccuracy(Check):
    id, cites, threshold = "forward-accuracy", "FP-1", 1e-8

    def run(self, impl, name):
        worst, example = 0.0, ""
        for activation in _smooth(impl):
            for contraction in (-0.5, 0.5, 0.9):
                theta, X, _ = _problem(activation, contraction)
                error = _relative(impl.fixed_point(theta, X, activation), _reference_y(theta, X, activation))
                if error > worst:
                    worst, example = error, _snippet(name, _call_code("fixed_point", theta, X[:3], activation),
                                                     _reference_y(theta, X[:3], activation).tolist())
        # edge cases against mpmath: steep slope θ₂L = 0.99 at u ≈ 0, saturated sigmoid
        for activation, theta, X in self._edges(impl):
            y = impl.fixed_point(theta, X, activation)
            with ref.working_precision(40):
                truth = np.array([ref.to_float(ref.fixed_point(a, theta[-1], get_activation(activation)))
                                  for a in X @ theta[:-1]])
            error = _relative(y, truth)
            if error > worst:
                worst, example = error, _snippet(name, _call_code("fixed_point", theta, X, activation), truth.tolist())
        return self.result("passed" if worst <= self.threshold else "failed", worst,
                           "relative to max(1, |y|), vs the built-in solver and mpmath", example)

    @staticmethod
    def _edges(impl):
        if "sigmoid" in impl.capabilities.activations:
            yield "sigmoid", np.array([1.0, 3.96]), np.array([[-1.98], [-1.9], [-2.1]])
            yield "sigmoid", np.array([1.0, 2.0]), np.array([[-700.0], [300.0], [40.0]])


class HonestStatus(Check):
    id, cites, threshold = "honest-status", "FP-1", 1e-6

    def run(self, impl, name):
        """A solve claimed as converged (a status, or finite output) must have a small
        recomputed residual |y − σ(θ₁ᵀx + θ₂y)|, on hard problems (θ₂L = 0.999)."""
        worst, example = 0.0, ""
        for activation in _smooth(impl):
            theta, X, _ = _problem(activation, 0.999)
            X = X * 4.0
            if impl.capabilities.reports_status and hasattr(impl, "fixed_point_status"):
                y, converged = impl.fixed_point_status(theta, X, activation)
                claimed = np.broadcast_to(np.asarray(converged, dtype=bool), y.shape)
            else:
                y = impl.fixed_point(theta, X, activation)
                claimed = np.isfinite(y)
            sigma = get_activation(activation).f
            residual = np.abs(y - sigma(X @ theta[:-1] + theta[-1] * y))
            residual = np.where(claimed & np.isfinite(residual), residual, 0.0)
            if residual.max() > worst:
                worst = float(residual.max())
                example = _snippet(name, _call_code("fixed_point", theta, X[:3], activation),
                                   "a residual below 1e-6, or a non-converged flag")
        return self.result("passed" if worst <= self.threshold else "failed", worst,
                           "largest residual among samples reported (or returned) as converged", example)


class GradientIFT(Check):
    id, cites, threshold = "gradient-ift", "FP-2", 1e-6

    def run(self, impl, name):
        worst, example = 0.0, ""
        for activation in _smooth(impl) + (["identity"] if "identity" in impl.capabilities.activations else []):
            theta, X, targets = _problem(activation, 0.5 if activation != "identity" else -0.5)
            exact = _reference_gradient(theta, X, targets, activation)
            gradient = impl.risk_gradient(theta, X, targets, activation)
            error = float(np.max(np.abs(gradient - exact)) / np.max(np.abs(exact)))
            if error > worst:
                worst = error
                example = _snippet(name, _call_code("risk_gradient", theta, X[:4], activation, targets[:4]),
                                   _reference_gradient(theta, X[:4], targets[:4], activation).tolist())
        # and against the mpmath gradient itself on a few samples (not only the float64 core)
        activation = _smooth(impl)[0]
        theta, X, targets = _problem(activation, 0.9, n=6)
        with ref.working_precision(40):
            exact = np.array([ref.to_float(g) for g in ref.risk_and_gradient(
                theta, X, targets, get_activation(activation))[1]])
        error = float(np.max(np.abs(impl.risk_gradient(theta, X, targets, activation) - exact))
                      / np.max(np.abs(exact)))
        if error > worst:
            worst = error
            example = _snippet(name, _call_code("risk_gradient", theta, X, activation, targets), exact.tolist())
        return self.result("passed" if worst <= self.threshold else "failed", worst,
                           "max |g − g_IFT| / max |g_IFT| (float64 core; mpmath at θ₂L = 0.9)", example)


class LinOrth(Check):
    id, cites, threshold = "lin-orth", "LIN-ORTH", 1e-10

    def run(self, impl, name):
        if "identity" not in impl.capabilities.activations:
            return self.result("skipped", note="no linear DEQ (identity activation)")
        worst, example = 0.0, ""
        for seed, theta2 in enumerate((-1.5, 0.3, 2.5)):
            theta, X, targets = _problem("identity", 0.0, seed=seed)
            theta[-1] = theta2
            gradient = impl.risk_gradient(theta, X, targets, "identity")
            offset = np.r_[theta[:-1], theta[-1] - 1.0]
            error = abs(gradient @ offset) / (np.linalg.norm(gradient) * np.linalg.norm(offset))
            if error > worst:
                worst = float(error)
                example = _snippet(name, _call_code("risk_gradient", theta, X[:4], "identity", targets[:4]),
                                   "a gradient orthogonal to θ − (0, 1)")
        return self.result("passed" if worst <= self.threshold else "failed", worst,
                           "|⟨∇R, θ−e⟩| / (‖∇R‖‖θ−e‖) with the implementation's gradient", example)


class GDRadius(Check):
    id, cites, threshold = "gd-radius", "GD-RADIUS", 1e-9

    def run(self, impl, name):
        if "identity" not in impl.capabilities.activations:
            return self.result("skipped", note="no linear DEQ (identity activation)")
        theta, X, targets = _problem("identity", 0.0, seed=7)
        theta[-1], eta = 0.4, 0.05
        worst = 0.0
        for _ in range(20):
            gradient = impl.risk_gradient(theta, X, targets, "identity")
            before = theta[:-1] @ theta[:-1] + (theta[-1] - 1) ** 2
            theta = theta - eta * gradient
            after = theta[:-1] @ theta[:-1] + (theta[-1] - 1) ** 2
            worst = max(worst, abs(after - before - eta ** 2 * gradient @ gradient) / after)
        return self.result("passed" if worst <= self.threshold else "failed", worst,
                           "|ΔC − η²‖∇R‖²| / C over 20 GD steps with the implementation's gradient")


def _flags(impl, theta, X, activation):
    """(flagged, y): raised or returned NaN/reported non-converged → flagged."""
    try:
        if impl.capabilities.reports_status and hasattr(impl, "fixed_point_status"):
            y, converged = impl.fixed_point_status(theta, X, activation)
            y = np.asarray(y, dtype=float)
            ok = np.broadcast_to(np.asarray(converged, dtype=bool), y.shape)
            return bool((~ok | ~np.isfinite(y)).all()), y
        y = np.asarray(impl.fixed_point(theta, X, activation), dtype=float)
    except Exception:  # noqa: BLE001 - any exception is a flag
        return True, None
    return bool((~np.isfinite(y)).all()), y


class IllPosed(Check):
    id, cites, threshold = "ill-posed", "FP-3", 0.0

    def run(self, impl, name):
        """θ₂ = 1 (linear DEQ): no solution or infinitely many; must raise or flag."""
        if "identity" not in impl.capabilities.activations:
            return self.result("skipped", note="no linear DEQ")
        theta = np.array([0.7, -0.2, 1.0])
        X = np.array([[1.0, 0.5], [-0.3, 2.0]])
        flagged, y = _flags(impl, theta, X, "identity")
        return self.result("passed" if flagged else "failed", 0.0 if flagged else 1.0,
                           "θ₂ = 1 must raise or return NaN" + ("" if flagged else f"; returned {y}"),
                           "" if flagged else _snippet(name, _call_code("fixed_point", theta, X, "identity"),
                                                       "an exception or NaN"))


class NonContractiveUnique(Check):
    id, cites, threshold = "non-contractive-unique", "FP-1", 1e-8

    def run(self, impl, name):
        """θ₂ = −5/L with nondecreasing σ: a unique root that plain iteration cannot reach.
        Pass: the root to 1e-8, or an explicit flag; fail: a wrong finite answer."""
        worst, example, notes = 0.0, "", []
        for activation in _smooth(impl):
            theta, X, _ = _problem(activation, -5.0, n=16)
            flagged, y = _flags(impl, theta, X, activation)
            if flagged:
                notes.append(f"{activation}: flagged")
                continue
            error = _relative(y, _reference_y(theta, X, activation))
            notes.append(f"{activation}: error {error:.2g}")
            if error > worst:
                worst = error
                example = _snippet(name, _call_code("fixed_point", theta, X[:3], activation),
                                   _reference_y(theta, X[:3], activation).tolist())
        return self.result("passed" if worst <= self.threshold else "failed", worst, "; ".join(notes), example)


class MultiRoot(Check):
    id, cites, threshold = "multi-root", "FP-3", 0.0

    def run(self, impl, name):
        """sigmoid, θ₂ = 6 (θ₂L = 1.5), θ₁ᵀx = −3: three roots. Pass: flag, or a *stable* root
        (θ₂σ'(u) < 1 at the returned y, which damped iteration converges to); fail: an
        unstable root or a non-root. The note says which."""
        if "sigmoid" not in impl.capabilities.activations:
            return self.result("skipped", note="no sigmoid")
        theta, X = np.array([1.0, 6.0]), np.array([[-3.0], [-3.0]])
        flagged, y = _flags(impl, theta, X, "sigmoid")
        if flagged:
            return self.result("passed", 0.0, "flagged (raised, NaN or non-converged)")
        sigma = get_activation("sigmoid")
        u = X @ theta[:-1] + theta[-1] * y
        residual = float(np.max(np.abs(y - sigma.f(u))))
        gain = float(np.max(theta[-1] * sigma.df(u)))
        if residual > 1e-6:
            verdict, note = "failed", f"returned a non-root (residual {residual:.2g})"
        elif gain >= 1:
            verdict, note = "failed", f"returned the repelling root y = {y[0]:.6g} (θ₂σ'(u) = {gain:.3g} ≥ 1)"
        else:
            verdict, note = "passed", f"returned the stable root y = {y[0]:.6g} (θ₂σ'(u) = {gain:.3g})"
        return self.result(verdict, gain, note, "" if verdict == "passed" else
                           _snippet(name, _call_code("fixed_point", theta, X, "sigmoid"), "a flag or a stable root"))


class Isolation(Check):
    id, cites, threshold = "isolation", "FP-1", 1e-12

    def run(self, impl, name):
        """One hard or bad sample must not change the answers for the others: a NaN row and a
        near-singular row (θ₂L = 0.999 at u ≈ 0) appended to a clean batch."""
        activation = _smooth(impl)[0]
        theta, X, _ = _problem(activation, 0.999, n=32)
        clean = impl.fixed_point(theta, X, activation)
        worst, notes = 0.0, []
        centre = -theta[-1] * float(get_activation(activation).f(np.float64(0.0)))
        hard = np.r_[centre / theta[0], np.zeros(X.shape[1] - 1)]
        for label, row in (("NaN row", np.full(X.shape[1], np.nan)), ("near-singular row", hard)):
            try:
                mixed = impl.fixed_point(theta, np.vstack([X, row]), activation)
            except Exception as error:  # noqa: BLE001 - raising on bad input is a flag, not contamination
                notes.append(f"{label}: raised {type(error).__name__}")
                continue
            difference = _relative(mixed[:-1], clean)
            notes.append(f"{label}: max change {difference:.2g}")
            worst = max(worst, difference if np.isfinite(difference) else np.inf)
        return self.result("passed" if worst <= self.threshold else "failed", worst, "; ".join(notes))


class GradientBatchScaling(Check):
    id, cites, threshold = "gradient-batch", "FP-2", 1e-6

    def run(self, impl, name):
        activation = _smooth(impl)[0]
        worst, notes = 0.0, []
        for n in (100, 1_000, 10_000, 100_000):
            theta, X, targets = _problem(activation, 0.5, n=n)
            exact = _reference_gradient(theta, X, targets, activation)
            error = float(np.max(np.abs(impl.risk_gradient(theta, X, targets, activation) - exact))
                          / np.max(np.abs(exact)))
            notes.append(f"n={n}: {error:.2g}")
            worst = max(worst, error)
        return self.result("passed" if worst <= self.threshold else "failed", worst, "; ".join(notes))


class Determinism(Check):
    id, cites, threshold = "determinism", "FP-1", 0.0

    def run(self, impl, name):
        activation = _smooth(impl)[0]
        theta, X, targets = _problem(activation, 0.7, n=256)
        first = (impl.fixed_point(theta, X, activation), impl.risk_gradient(theta, X, targets, activation))
        second = (impl.fixed_point(theta, X, activation), impl.risk_gradient(theta, X, targets, activation))
        worst = float(max(np.max(np.abs(a - b)) for a, b in zip(first, second)))
        return self.result("passed" if worst == 0.0 else "failed", worst, "two identical calls, bitwise")


class Float32(Check):
    id, cites, threshold = "float32", "FP-1", 1e-4

    def run(self, impl, name):
        if "float32" not in impl.capabilities.dtypes:
            return self.result("skipped", note="float32 not declared")
        activation = _smooth(impl)[0]
        theta, X, _ = _problem(activation, 0.5)
        y = impl.fixed_point(theta.astype(np.float32), X.astype(np.float32), activation)
        reference = _reference_y(theta.astype(np.float32).astype(float), X.astype(np.float32).astype(float), activation)
        worst = _relative(y, reference)
        return self.result("passed" if worst <= self.threshold else "failed", worst,
                           "float32 inputs vs float64 truth on the same (rounded) inputs; cond ≤ 2")


CHECKS = {check.id: check for check in (
    ForwardAccuracy(), HonestStatus(), GradientIFT(), LinOrth(), GDRadius(), IllPosed(),
    NonContractiveUnique(), MultiRoot(), Isolation(), GradientBatchScaling(), Determinism(),
    Float32())}
