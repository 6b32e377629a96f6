"""The inequalities decided by proof (:mod:`deqverify.reference.proofs`): each side enclosed
by ball arithmetic at the exact float64 inputs, with the constants' eigenvalues enclosed by
:func:`deqverify.certify.spectrum.extreme_eigenvalues`.

* PL (linear DEQ): ‖∇R(θ)‖² − 4λ_min(Σ)(1 + ‖φ‖²)/C(θ)·R(θ) ≥ 0 at every point. R is the
  statement's risk (φ − ξ)ᵀΣ(φ − ξ): a population's Σ, or an empirical risk's Σ̂ = XᵀX/n with
  its teacher ξ — not the float64 targets, whose rounding puts the exact least-squares
  minimum slightly above 0, where the inequality (about R, not R − R*) fails by ~eps².
* MON-LIP: (‖U‖₂/m)·‖x − x′‖₂ − ‖z*(x) − z*(x′)‖₂ ≥ 0 for every pair of inputs, with the
  roots from Krawczyk enclosures around the splitting solver's answers.
* SI-RSI (empirical single-index risks): λ₁ > 0 on the sampled points, i.e.
  ⟨∇R(θ), θ − θ*⟩ > 0 at every point θ ≠ θ* (λ₂, the largest ‖∇R‖²/‖θ − θ*‖², is finite
  wherever ∇R is enclosed). A population risk's gradient is a quadrature with an error
  estimate, not a bound: no proof.

Before a proof speaks, the implementation is held to the proof's own objects: its float64
gradient within the ladder's rounding gap of the enclosure (PL, SI-RSI), its risk value the
statement's (PL: else no proof — noisy targets make another risk), the splitting solver's
roots within their stated bounds of the proved ones (MON-LIP). A failure there is an
implementation error, never a certificate.

Each returns (verdict, margin, details, radius) — verdict True (proved), False (a proved
counterexample: the enclosure excludes the claim) or None (no proof either way).
"""

from __future__ import annotations

import numpy as np

Outcome = tuple  # (bool | None, float, str, float)


def _arb(value):
    from flint import arb
    return arb(float(value))


def _norm(terms):
    """√(Σ tᵢ²) of balls, with the sum's lower end kept ≥ 0 (a ball around 0 squares to one
    that reaches below 0, whose square root is undefined)."""
    from flint import arb
    total = sum((t * t for t in terms), arb(0))
    return arb(max(total.lower(), 0)).union(arb(total.upper())).sqrt()


GRADIENT_GAP = 1e-11
"""Largest relative float64-vs-exact gradient gap still called rounding: well above every
gradient error on the precision grid (docs/precision.md: ≤ 6e-13 up to cond 1e4)."""


def implementation_gap(enclosure, gradient) -> str | None:
    """Why the implementation's float64 gradient is not the proved one, or None: not finite,
    or beyond the gap (relative to the largest component) from every point of the enclosure."""
    gradient = np.asarray(gradient, dtype=float)
    if not np.all(np.isfinite(gradient)):
        return "the float64 gradient is not finite"
    near, _ = enclosure.gradient_distance(gradient)
    allowed = max(GRADIENT_GAP * float(np.max(np.abs(enclosure.gradient))), np.finfo(float).tiny)
    if not near <= allowed:
        return f"the float64 gradient is {near:.3g} from every point of the certified ∇R (gap {allowed:.3g})"
    return None


def _implementation_error(reason: str, radius: float) -> Outcome:
    return False, -np.inf, f"{reason}: an implementation error", radius


def _decide(slacks, scales, what: str, radius: float, strict: bool = False) -> Outcome:
    """From the claim's slack balls (the claim holds iff every slack ≥ 0, or > 0 when
    ``strict``) and their scales."""
    margins = [float(s.mid()) / max(float(c.mid()), np.finfo(float).tiny) for s, c in zip(slacks, scales)]
    refuted = [i for i, s in enumerate(slacks) if (s <= 0 if strict else s < 0)]
    if refuted:
        return (False, margins[refuted[0]], f"{what}: the slack's enclosure {slacks[refuted[0]].str(5)} is "
                f"{'≤' if strict else 'below'} 0", radius)
    if all((s > 0) if strict else (s >= 0) for s in slacks):
        return True, min(margins), f"{what}: every slack's enclosure is {'>' if strict else '≥'} 0", radius
    return None, min(margins), f"{what}: a slack's enclosure straddles 0", radius


def _second_moment(risk):
    """Σ as balls: the population's, or XᵀX/n of an empirical risk (exact to 128 bits)."""
    from flint import arb, arb_mat
    population = getattr(risk, "population", None)
    if population is not None and hasattr(population, "low"):
        low, high = _arb(population.low), _arb(population.high)
        return [[(low * low + low * high + high * high) / 3]]
    if population is not None:
        return [[_arb(v) for v in row] for row in np.asarray(population.Sigma)]
    X = arb_mat([[arb(float(v)) for v in row] for row in np.asarray(risk.X)])
    moment = X.transpose() * X / arb(risk.X.shape[0])
    return [[moment[i, j] for j in range(moment.ncols())] for i in range(moment.nrows())]


def polyak_lojasiewicz(problem) -> Outcome | None:
    """PL at every point of a linear DEQ problem with a teacher (see the module)."""
    from flint import arb

    from deqverify.certify.risk import linear_population_risk
    from deqverify.certify.spectrum import extreme_eigenvalues
    risk = problem.risk
    if not getattr(getattr(risk, "model", None), "is_linear", False) or getattr(risk, "xi", None) is None:
        return None
    Sigma = _second_moment(risk)
    bounds = extreme_eigenvalues(Sigma)
    if bounds is None:
        return None
    lam = bounds[0]
    slacks, scales, radius = [], [], 0.0
    for theta in problem.all_points():
        enclosure = linear_population_risk(theta, Sigma, risk.xi)
        if not enclosure.certified:
            return None
        value_float, gradient_float = risk.value_and_gradient(theta)
        low, high = enclosure.value
        if not abs(value_float - 0.5 * (low + high)) <= GRADIENT_GAP * max(abs(low), abs(high), 1.0) + (high - low):
            return None  # not the statement's risk (noisy targets): no proof about it
        reason = implementation_gap(enclosure, gradient_float)
        if reason:
            return _implementation_error(f"{reason} at θ = {theta}", enclosure.gradient_radius)
        value, gradient = enclosure.balls()
        gap = 1 - _arb(theta[-1])
        # x·x, not x ** 2: Arb's power of a ball that holds 0 is NaN
        phi_squared = sum(((_arb(v) / gap) * (_arb(v) / gap) for v in theta[:-1]), arb(0))
        C = sum((_arb(v) * _arb(v) for v in theta[:-1]), arb(0)) + gap * gap
        rhs = 4 * lam * (1 + phi_squared) / C * value
        lhs = sum((g * g for g in gradient), arb(0))
        slacks.append(lhs - rhs)
        scales.append(lhs + abs(rhs))
        radius = max(radius, enclosure.gradient_radius)
    return _decide(slacks, scales, f"‖∇R‖² − μR with λ_min(Σ) ∈ {lam.str(5)}", radius)


def monotone_lipschitz(problem) -> Outcome | None:
    """MON-LIP over the pairs of a problem's inputs (see the module)."""
    from flint import arb

    from deqverify import certify
    from deqverify.certify.spectrum import extreme_eigenvalues
    from deqverify.core.splitting import monotone_roots
    if problem.X is None or problem.X.shape[0] < 2:
        return None
    params = problem.model.params(problem.theta0, problem.X.shape[1])
    offsets = problem.X @ params.U.T + params.b
    W, U = np.asarray(params.W), np.asarray(params.U)
    k = W.shape[0]
    symmetric = [[(1 if i == j else 0) - (_arb(W[i, j]) + _arb(W[j, i])) / 2 for j in range(k)] for i in range(k)]
    gram = [[sum((_arb(U[r, i]) * _arb(U[r, j]) for r in range(k)), arb(0)) for j in range(U.shape[1])]
            for i in range(U.shape[1])]
    m_bounds, gram_bounds = extreme_eigenvalues(symmetric), extreme_eigenvalues(gram)
    if m_bounds is None or gram_bounds is None or not m_bounds[0] > 0:
        return None
    constant = arb(max(gram_bounds[1].lower(), 0)).union(arb(gram_bounds[1].upper())).sqrt() / m_bounds[0]
    answers, bounds = monotone_roots(problem.model, params, offsets)
    boxes = certify.vector_fixed_point(params, problem.X, problem.model.activation.name, answers)
    if not all(e.certified for box in boxes for e in box):
        return None
    radius = max(e.radius for box in boxes for e in box)
    for index, (z, box, bound) in enumerate(zip(answers, boxes, bounds)):
        near = float(np.hypot.reduce([max(e.low - v, v - e.high, 0.0) for v, e in zip(z, box)]))
        # the solver's bound, plus the rounding of this float64 distance (a few ulps of |z|)
        if not near <= bound + 4 * np.finfo(float).eps * max(1.0, float(np.abs(z).max())):
            return _implementation_error(f"the solver's root of sample {index} is {near:.3g} from the proved "
                                         f"one, beyond its stated bound {bound:.3g}", radius)
    slacks, scales = [], []
    pairs = len(boxes) // 2  # each input with the next, as MON-LIP's check pairs them
    for box, other, x, x_other in zip(boxes[0:2 * pairs:2], boxes[1::2], problem.X[0::2], problem.X[1::2]):
        apart = _norm([arb(a.low).union(arb(a.high)) - arb(b.low).union(arb(b.high)) for a, b in zip(box, other)])
        distance = _norm([_arb(u) - _arb(v) for u, v in zip(x, x_other)])
        slacks.append(constant * distance - apart)
        scales.append(constant * distance + apart)
    if not slacks:
        return None
    return _decide(slacks, scales, f"(‖U‖₂/m)‖Δx‖ − ‖Δz*‖ with ‖U‖₂/m ∈ {constant.str(5)}", radius)



def restricted_secant(problem) -> Outcome | None:
    """SI-RSI on the sampled points of an empirical single-index problem (see the module)."""
    from flint import arb

    from deqverify.certify.risk import empirical_risk
    risk = problem.risk
    truth = getattr(risk, "truth", None)
    if truth is None or not hasattr(risk, "targets"):
        return None
    slacks, scales, radius = [], [], 0.0
    for theta in problem.all_points():
        offset = [_arb(t) - _arb(s) for t, s in zip(theta, truth)]
        if all(o == 0 for o in offset):
            continue  # θ = θ*: both sides 0
        enclosure = empirical_risk(theta, risk.X, risk.targets, risk.model.activation.name)
        if not enclosure.certified:
            return None
        reason = implementation_gap(enclosure, risk.gradient(theta))
        if reason:
            return _implementation_error(f"{reason} at θ = {theta}", enclosure.gradient_radius)
        gradient = enclosure.balls()[1]
        slacks.append(sum((g * o for g, o in zip(gradient, offset)), arb(0)))
        scales.append(_norm(gradient) * _norm(offset))
        radius = max(radius, enclosure.gradient_radius)
    if not slacks:
        return None
    return _decide(slacks, scales, "⟨∇R, θ − θ*⟩ at every sampled θ ≠ θ*", radius, strict=True)
