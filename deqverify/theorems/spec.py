"""Problems as plain data (JSON-able specs), so a counterexample becomes runnable code."""

from __future__ import annotations

import mpmath
import numpy as np

from deqverify.core.activations import Activation
from deqverify.core.data import GaussianPopulation, UniformPopulation
from deqverify.core.models import LinearDEQ, SingleIndexDEQ
from deqverify.core.population import PopulationRisk
from deqverify.core.risk import EmpiricalRisk
from deqverify.core.solve import DEFAULT_SETTINGS
from deqverify.core.vector_model import VectorDEQ
from deqverify.theorems.base import Problem

SINE = Activation("sine", np.sin, np.cos, lambda z: -np.sin(z), lipschitz=1.0, monotone=False,
                  mp_f=mpmath.sin, mp_df=mpmath.cos)
"""A smooth but non-monotone σ: breaks A-act (nondecreasing) and nothing else."""
STEEP_TANH = Activation("steep-tanh", lambda z: 2 * np.tanh(z), lambda z: 2 / np.cosh(z) ** 2,
                        lambda z: -4 * np.tanh(z) / np.cosh(z) ** 2, lipschitz=2.0, monotone=True,
                        mp_f=lambda z: 2 * mpmath.tanh(z), mp_df=lambda z: 2 * mpmath.sech(z) ** 2)
"""σ = 2·tanh: nondecreasing, slopes up to 2. Not a proximal map (those are 1-Lipschitz) and its
slopes leave [0, 1]: breaks A-prox (MON-*) and A-slopes (LINF-WP) and nothing else."""
_CUSTOM_ACTIVATIONS = {SINE.name: SINE, STEEP_TANH.name: STEEP_TANH}


def _model_spec(model) -> dict:
    if isinstance(model, VectorDEQ):
        return {"vector": True, "width": model.width, "activation": model.activation.name,
                "method": model.method, "frozen": list(model.frozen),
                "allow_noncontractive": model.allow_noncontractive,
                "settings": {"rtol": model.settings.rtol, "atol": model.settings.atol,
                             "max_iter": model.settings.max_iter}}
    return {"linear": True} if isinstance(model, LinearDEQ) else {"activation": model.activation.name}


def _model_from_spec(model_spec: dict):
    if model_spec.get("vector"):
        method = model_spec.get("method", "newton")
        settings = model_spec.get("settings")
        activation = _CUSTOM_ACTIVATIONS.get(model_spec["activation"], model_spec["activation"])
        return VectorDEQ(model_spec["width"], activation, method,
                         None if settings is None else type(DEFAULT_SETTINGS[method])(**settings),
                         frozen=tuple(model_spec["frozen"]),
                         allow_noncontractive=model_spec.get("allow_noncontractive", False))
    if model_spec.get("linear"):
        return LinearDEQ()
    return SingleIndexDEQ(_CUSTOM_ACTIVATIONS.get(model_spec["activation"], model_spec["activation"]))


def _risk_spec(risk) -> dict | None:
    if risk is None:  # statements about a layer's map alone (MON-*, LINF-WP, BWD-*)
        return None
    if isinstance(risk, EmpiricalRisk):
        return {"kind": "empirical", "X": risk.X.tolist(), "targets": risk.targets.tolist(),
                "xi": None if risk.xi is None else risk.xi.tolist()}
    population = risk.population
    if isinstance(population, UniformPopulation):
        return {"kind": "uniform", "low": population.low, "high": population.high,
                "xi": risk.xi.tolist()}
    return {"kind": "gaussian", "Sigma": population.Sigma.tolist(), "xi": risk.xi.tolist()}


def problem_to_spec(problem: Problem) -> dict:
    """A JSON-serialisable description from which :func:`problem_from_spec` rebuilds it."""
    def listed(array):
        return None if array is None else np.asarray(array).tolist()

    return {"model": _model_spec(problem.model), "risk": _risk_spec(problem.risk),
            "theta0": problem.theta0.tolist(), "points": listed(problem.points),
            "X": listed(problem.X), "step": problem.step, "steps": problem.steps,
            "t_max": problem.t_max, "label": problem.label,
            "cotangents": listed(problem.cotangents), "damping": problem.damping}


def problem_from_spec(spec: dict) -> Problem:
    """Rebuild a :class:`Problem` (with deqverify's own solver and dynamics) from a spec."""
    model = _model_from_spec(spec["model"])
    risk_spec = spec["risk"]
    if risk_spec is None:
        risk = None
    elif risk_spec["kind"] == "empirical":
        risk = EmpiricalRisk(model, np.array(risk_spec["X"]), np.array(risk_spec["targets"]),
                             xi=risk_spec["xi"])
    elif risk_spec["kind"] == "uniform":
        risk = PopulationRisk(model, UniformPopulation(risk_spec["low"], risk_spec["high"]),
                              risk_spec["xi"])
    else:
        risk = PopulationRisk(model, GaussianPopulation(np.array(risk_spec["Sigma"])), risk_spec["xi"])

    def array(key):
        return None if spec.get(key) is None else np.array(spec[key], dtype=float)

    return Problem(model=model, risk=risk, theta0=array("theta0"), points=array("points"),
                   X=array("X"), step=spec.get("step"), steps=spec.get("steps", 0),
                   t_max=spec.get("t_max"), label=spec.get("label", ""),
                   cotangents=array("cotangents"), damping=spec.get("damping"))


def reproduction_snippet(theorem_id: str, problem: Problem) -> str:
    """Python code that rebuilds ``problem`` and reruns the check."""
    import json

    return (
        "import json\n"
        "from deqverify.theorems import REGISTRY\n"
        "from deqverify.theorems.spec import problem_from_spec\n"
        f"spec = json.loads({json.dumps(json.dumps(problem_to_spec(problem)))})\n"
        f"print(REGISTRY[{theorem_id!r}].check(problem_from_spec(spec)))\n"
    )
