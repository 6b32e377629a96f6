"""Population risk R(θ) = E[(y_θ(X) − f_ξ(X))²] and its gradient, exactly or by quadrature.

* Linear DEQ, any population (closed form from Σ = E[XXᵀ], docs/theorems.md notation):
  φ = θ₁/(1−θ₂), R = ‖φ − ξ‖²_Σ, ∇R = (2/(1−θ₂))·(Σ(φ−ξ), φᵀΣ(φ−ξ)).
* Single-index DEQ, Gaussian X ~ N(0, Σ): only the projections a = θ₁ᵀX and V = ξᵀX matter.
  With a Σ-orthonormal basis b₁ = θ₁/‖θ₁‖_Σ, b₂ ∝ ξ − (ξᵀΣb₁)b₁, write a = s·W₁ and
  V = ρW₁ + τW₂ with W₁, W₂ independent N(0, 1) and E[X | W₁, W₂] = Σb₁W₁ + Σb₂W₂.
* Single-index DEQ, X ~ U[l, h] (d = 1): a = θ₁X directly.

The outer integral is taken in the *pre-activation* u rather than in a. The fixed point y(a)
has branch points where 1 − θ₂σ'(u) = 0, within ~0.01 standard deviations of the real axis
at θ₂L = 0.9 (a trapezoid rule in a converges like 1e-3 at 300 nodes there), whereas
u ↦ a(u) = u − θ₂σ(u), y = σ(u) are explicit and as smooth as σ. Substituting a = a(u),
da = (1 − θ₂σ'(u))du, needs no fixed-point solve at all: nodes uₖ give yₖ = σ(uₖ) directly.
Rules: composite Gauss–Legendre in u on panels that split the range uniformly and, finer,
where σ turns (|u| ≤ 40) and where the teacher turns (|ξᵀx| ≤ 40) — so that neither
‖θ₁‖_Σ nor ‖ξ‖_Σ up to 10³ puts a narrow transition inside one wide panel (the single
trapezoid rule this replaced was 2.6e-4 off at ‖θ₁‖ = 50 and 2.5e-2 at 10³, with an
estimate 22× too small). The inner Gaussian integral over W₂ uses a trapezoid rule whose step
is set from τ and the distance of σ's complex poles to the real axis. The error bound compares
the rule with a coarser one — 24 instead of 32 points on the same panels, and twice the inner
step, so a capped inner rule (a steep teacher) shows — and adds a float64 rounding bound,
which is what bounds R near the truth, a small difference of O(1) terms. For a pre-activation
range too narrow for the u-substitution (‖θ₁‖_Σ → 0, Σ → 0) the outer rule is in a itself.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy.special import roots_legendre

from deqverify.core.data import GaussianPopulation, UniformPopulation
from deqverify.core.errors import InvalidInputError
from deqverify.core.models import DEQModel
from deqverify.core.risk import RiskInterface, require_model
from deqverify.core.solve import newton_scalar
from deqverify.core.validation import as_vector
from deqverify.core.vector_model import VectorDEQ
from deqverify.core.vector_population import linear_vector_population

TAIL_STDS = 10.0
"""Truncation of Gaussian integrals at ±10 standard deviations: tail mass < 2e-23."""
PANEL_NODES = 32
"""Gauss–Legendre points per outer panel."""
ESTIMATE_NODES = 24
"""The error estimate is |rule with PANEL_NODES − rule with ESTIMATE_NODES| on the same
panels: the coarser rule's error, an overestimate of the finer one's."""
OUTER_PANELS = 16
FEATURE_PANEL = 2.5
"""Widest panel across a transition of σ (poles π/2 to π from the real axis): Gauss–Legendre
with 32 points then converges far past float64 on each panel."""
SATURATION = 40.0
"""|u| beyond which σ' < 5e-18 for the built-ins (tanh: 40 is far past saturation too)."""
INNER_STEP_FACTOR = 0.16
"""Inner step h ≤ 0.16·d/τ with d the pole distance of σ: trapezoid error ~ exp(−2πd/(hτ))
= exp(−39) < 1e-16."""
INNER_TAIL_STDS = 9.0
"""Inner truncation at ±9: Gaussian tail mass 2e-19."""
INNER_MAX_NODES = 4097
INNER_MIN_NODES = 33
"""At least 33 nodes on [−9, 9] (h ≤ 0.56): the Gaussian factor alone then has trapezoid
error ~ exp(−2π²/h²) < 1e-27."""
POLE_DISTANCE = {"sigmoid": np.pi, "softplus": np.pi, "tanh": np.pi / 2}
NARROW_U_RANGE = 1e-4
"""A pre-activation range u(±10‖θ₁‖_Σ) narrower than this (relative to max(1, |u|)) is
integrated in a instead of u: the u-rule's a = u − θ₂σ(u) loses eps·|u|/width of w₁ to
cancellation (≤ 1e-12 above the threshold), while the a-rule needs y(a) smooth on a range
10⁻⁴ wide — true unless a branch point of y(a) lies that close (θ₂L within ~5e-4 of 1)."""
EPS = float(np.finfo(np.float64).eps)
LEGENDRE_NODES = 32
"""Gauss–Legendre points per panel of the uniform law (the estimate uses ESTIMATE_NODES)."""


@dataclass(frozen=True)
class _Rule:
    """One discretisation: ``nodes`` Gauss–Legendre points per outer panel, the inner
    trapezoid step multiplied by ``inner_coarsening`` (the estimate's coarse rule is coarser
    in both, so |fine − coarse| sees the error of either)."""

    nodes: int
    inner_coarsening: int = 1


FINE_RULE = _Rule(PANEL_NODES)
COARSE_RULE = _Rule(ESTIMATE_NODES, inner_coarsening=2)
ROUNDING_FACTOR = 4.0
"""Rounding of a sum of N terms: ≲ √N·eps·Σ|terms| (independent roundings), times 4."""


@dataclass(frozen=True)
class QuadratureEstimate:
    """|fine − coarse| for the value and the gradient of the last evaluation."""

    value: float
    gradient: float


def _read_only(*arrays):
    for array in arrays:
        array.flags.writeable = False
    return arrays


@functools.lru_cache(maxsize=64)
def _trapezoid_standard_normal(count: int, tail: float = TAIL_STDS):
    """Nodes and weights of the trapezoid rule for E[h(Z)], Z ~ N(0, 1), on [−tail, tail]
    (cached: the same few rules serve every evaluation)."""
    z = np.linspace(-tail, tail, count)
    return _read_only(z, (z[1] - z[0]) * np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi))


@functools.lru_cache(maxsize=16)
def _legendre_rule(nodes: int):
    """Gauss–Legendre nodes and weights on [−1, 1] (cached: an eigenproblem per call)."""
    return _read_only(*roots_legendre(nodes))


def _split(low: float, high: float, width: float) -> np.ndarray:
    """Points splitting [low, high] into equal panels no wider than ``width``."""
    return np.linspace(low, high, int(np.ceil((high - low) / width)) + 1)


def _legendre_panels(breaks: np.ndarray, nodes: int):
    """Nodes and weights of Gauss–Legendre with ``nodes`` points on each [breaksᵢ, breaksᵢ₊₁]."""
    z, base = _legendre_rule(nodes)
    low, high = breaks[:-1, None], breaks[1:, None]
    return ((0.5 * (high - low) * z + 0.5 * (high + low)).ravel(),
            (0.5 * (high - low) * base).ravel())


def _weighted_magnitude(weights, magnitudes) -> float:
    """Σ|wᵢ|·mᵢ over the nodes with wᵢ ≠ 0: a node whose weight is exactly 0 adds nothing,
    even where its magnitude overflowed to inf (a plain product would give 0·inf = NaN)."""
    used = weights != 0
    with np.errstate(over="ignore"):
        return float(np.abs(weights[used]) @ magnitudes[used])


class PopulationRisk(RiskInterface):
    """R(θ) = E[(y_θ(X) − f_ξ(X))²] for X from a population, with value/gradient API.

    Parameters
    ----------
    model : LinearDEQ or SingleIndexDEQ
    population : GaussianPopulation or UniformPopulation
    xi : array (d,)
        Teacher ξ; targets ξᵀx (linear) or σ(ξᵀx) (single-index); truth θ* = (ξ, 0).

    Attributes
    ----------
    quadrature_error : QuadratureEstimate or None
        Error bound of the last quadrature evaluation (None for closed forms): |fine − coarse|
        (the coarse rule coarser outside and inside) plus a float64 rounding bound of the
        fine rule; computed on first access, so evaluations nobody asks it of skip the coarse
        rule.
    """

    def __init__(self, model: DEQModel, population, xi):
        require_model(model)
        if not isinstance(population, (GaussianPopulation, UniformPopulation)):
            raise InvalidInputError(
                f"population must be a GaussianPopulation(Sigma) or UniformPopulation(low, high), "
                f"got {population!r}")
        self.model = model
        self.population = population
        self.xi = as_vector(xi, "xi", population.dim)
        self._last_quadrature: tuple[np.ndarray, tuple] | None = None
        self._estimate: QuadratureEstimate | None = None
        if isinstance(model, VectorDEQ):
            if not (model.is_linear and isinstance(population, GaussianPopulation)):
                raise InvalidInputError(
                    f"population risk of a vector DEQ is implemented for the linear model "
                    f"(activation 'identity') and a GaussianPopulation, got {model!r} and "
                    f"{population!r}; use EmpiricalRisk on a large sample instead")
        elif not model.is_linear:
            if model.activation.closed_form is not None:
                raise InvalidInputError(
                    f"population risk for the {model.activation.name} DEQ is not implemented; "
                    "use EmpiricalRisk on a large sample")

    @property
    def dim(self) -> int:
        return self.population.dim

    @property
    def second_moment(self) -> np.ndarray:
        return self.population.second_moment

    def value_and_gradient(self, theta) -> tuple[float, np.ndarray]:
        """(R(θ), ∇R(θ))."""
        theta = self.model.as_parameters(theta, self.dim)
        self.model.check_parameters(theta)
        if isinstance(self.model, VectorDEQ):
            value, parts = linear_vector_population(
                self.model.params(theta, self.dim), self.second_moment, self.xi)
            return value, self.model.flat_gradient(**parts)
        if self.model.is_linear:
            return self._linear(theta)
        fine = self._rule(theta, fine=True)
        self._last_quadrature, self._estimate = (theta.copy(), fine), None
        return fine[0], fine[1]

    @property
    def quadrature_error(self) -> QuadratureEstimate | None:
        """|fine − coarse| (the coarser rule's error, an overestimate of the finer one's) plus
        the fine rule's rounding bound, for the value and the gradient at the last quadrature
        evaluation; None before one."""
        if self._last_quadrature is None:
            return None
        if self._estimate is None:
            theta, fine = self._last_quadrature
            coarse = self._rule(theta, fine=False)
            self._estimate = QuadratureEstimate(
                abs(fine[0] - coarse[0]) + fine[2][0],
                float(np.max(np.abs(fine[1] - coarse[1]))) + fine[2][1])
        return self._estimate

    def _rule(self, theta, *, fine: bool):
        """(R, ∇R, (value rounding, gradient rounding)) by the fine rule or by the coarser one
        of the error estimate."""
        if isinstance(self.population, UniformPopulation):
            return self._uniform(theta, LEGENDRE_NODES if fine else ESTIMATE_NODES)
        return self._gaussian(theta, FINE_RULE if fine else COARSE_RULE)

    # -- linear DEQ --------------------------------------------------------------------
    def _linear(self, theta):
        gap = 1.0 - theta[-1]
        phi = theta[:-1] / gap
        residual = phi - self.xi
        Sigma_residual = self.second_moment @ residual
        value = float(residual @ Sigma_residual)
        return value, (2.0 / gap) * np.append(Sigma_residual, phi @ Sigma_residual)

    # -- single index: shared assembly ----------------------------------------------------
    def _nodes_in_u(self, theta2, u):
        activation = self.model.activation
        y, slope = activation.value_and_slope(u)
        gap = 1.0 - theta2 * slope
        return y, u - theta2 * y, gap, slope / gap

    @staticmethod
    def _assemble(weights, y, factor, m0, m2, mean_x, mean_sx, inner_nodes=1):
        """R = Σw(y² − 2y·m0 + m2); ∇₁R = 2Σw·c·(y·E[X|·] − E[σ(V)X|·]); ∂₂R = 2Σw·c·y(y − m0).

        Also the rounding bound of both: each outer term is a difference of terms as large as
        (|y| + √m2)² (|m0| ≤ √m2 by Cauchy–Schwarz), each inner moment a sum of
        ``inner_nodes`` terms; both sums round like :data:`ROUNDING_FACTOR`·√N·eps·Σ|terms|
        (near the truth R is a small difference of O(1) terms: this is what bounds it)."""
        value = float(weights @ (y * y - 2.0 * y * m0 + m2))
        wc = weights * factor
        gradient1 = 2.0 * ((wc * y) @ mean_x - wc @ mean_sx)
        gradient2 = 2.0 * float((wc * y) @ (y - m0))
        with np.errstate(over="ignore"):  # a bound past float64 (softplus at Σ = 1e300): inf
            spread = np.abs(y) + np.sqrt(np.abs(m2))
            size = ROUNDING_FACTOR * EPS * (np.sqrt(y.size) + np.sqrt(inner_nodes))
            value_rounding = size * _weighted_magnitude(weights, spread * spread)
            row_scale = np.abs(mean_x).max(axis=1) + np.abs(mean_sx).max(axis=1) + spread
            gradient_rounding = 2.0 * size * _weighted_magnitude(wc, spread * row_scale)
        return value, np.append(gradient1, gradient2), (value_rounding, gradient_rounding)

    def _u_interval(self, theta2, a_low, a_high):
        """u(a) at the ends of the a-range: u = a + θ₂y(a), increasing in a."""
        activation = self.model.activation
        return tuple(a + theta2 * newton_scalar(a, theta2, activation)[0] for a in (a_low, a_high))

    def _u_points(self, theta2, a_values) -> list:
        """u(a) = a + θ₂y(a) at many a at once (the batched solver): panel ends in u."""
        a_values = np.asarray(a_values, dtype=float)
        return list(a_values + theta2 * self.model.solve_offsets(a_values, theta2).value)

    # -- Gaussian population ----------------------------------------------------------------
    def _gaussian(self, theta, rule: _Rule):
        Sigma, xi, theta1, theta2 = self.population.Sigma, self.xi, theta[:-1], float(theta[-1])
        s = float(np.sqrt(max(theta1 @ Sigma @ theta1, 0.0)))
        t = float(np.sqrt(max(xi @ Sigma @ xi, 0.0)))
        scale_floor = 1e-150
        if s > scale_floor:
            b1 = theta1 / s
            rho = float(xi @ Sigma @ b1)
            rest = xi - rho * b1
            tau = float(np.sqrt(max(rest @ Sigma @ rest, 0.0)))
            b2 = rest / tau if tau > 1e-12 * max(t, scale_floor) else np.zeros_like(xi)
            tau = tau if b2.any() else 0.0
            u_low, u_high = self._u_interval(theta2, -TAIL_STDS * s, TAIL_STDS * s)
            if u_high - u_low < NARROW_U_RANGE * max(1.0, abs(u_low), abs(u_high)):
                return self._gaussian_rule_in_a(theta2, s, rho, tau, b1, b2, rule)
            breaks = self._outer_breakpoints(theta2, s, rho, u_low, u_high)
            return self._gaussian_rule(theta2, s, rho, tau, b1, b2, breaks, rule)
        # θ₁ = 0 in the Σ-metric: a ≡ 0, one fixed point; V is all inner
        b2 = xi / t if t > scale_floor else np.zeros_like(xi)
        tau = t if b2.any() else 0.0
        u0 = self._u_interval(theta2, 0.0, 0.0)[0]
        y, _, _, factor = self._nodes_in_u(theta2, np.array([u0]))
        m0, m1, m2, inner_nodes = self._inner_moments(np.zeros(1), tau, rule)
        return self._assemble(np.ones(1), y, factor, m0, m2, np.zeros((1, xi.size)),
                              np.outer(m1, Sigma @ b2), inner_nodes)

    def _outer_breakpoints(self, theta2, s, rho, u_low, u_high):
        """Panel ends in u: a uniform split of the range into :data:`OUTER_PANELS`, refined
        to panels of width ≤ :data:`FEATURE_PANEL` where σ turns (|u| ≤ :data:`SATURATION`)
        and, in a/(s/|ρ|) units, where the teacher turns (|ρ·w₁| ≤ SATURATION) — only where
        the uniform panels are wider than that, so ordinary problems keep 16 panels while
        ‖θ₁‖_Σ or ‖ξ‖_Σ up to 10³ get their narrow transitions resolved."""
        points = list(np.linspace(u_low, u_high, OUTER_PANELS + 1))
        width = (u_high - u_low) / OUTER_PANELS
        if width > FEATURE_PANEL:  # σ's transition is narrow against the panels
            points += list(_split(-SATURATION, SATURATION, FEATURE_PANEL))
        if abs(rho) > 0 and width > FEATURE_PANEL * s / abs(rho):  # so is the teacher's
            reach = min(SATURATION * s / abs(rho), TAIL_STDS * s)
            points += self._u_points(theta2, _split(-reach, reach, FEATURE_PANEL * s / abs(rho)))
        return np.unique([p for p in points if u_low <= p <= u_high])

    def _gaussian_rule(self, theta2, s, rho, tau, b1, b2, breaks, rule):
        """(R, ∇R) by Gauss–Legendre with ``rule.nodes`` points on every panel of ``breaks``:
        a = u − θ₂σ(u), da = (1 − θ₂σ'(u))du, w₁ = a/s with density φ(w₁)/s."""
        u, panel_weights = _legendre_panels(breaks, rule.nodes)
        y, a, gap, factor = self._nodes_in_u(theta2, u)
        w1 = a / s
        weights = panel_weights * gap * np.exp(-0.5 * w1 * w1) / (np.sqrt(2 * np.pi) * s)
        return self._gaussian_assemble(w1, weights, y, factor, rho, tau, b1, b2, rule)

    def _gaussian_rule_in_a(self, theta2, s, rho, tau, b1, b2, rule):
        """(R, ∇R) by Gauss–Legendre in w₁ = a/s itself on [−10, 10] (:data:`OUTER_PANELS`
        panels), y(a) from the solver: for a narrow pre-activation range (‖θ₁‖_Σ → 0 or
        Σ → 0), where a = u − θ₂σ(u) at nodes u a few ulps apart cancels to noise (5 % off at
        ‖θ₁‖ = 5e-16) or to nothing (all nodes equal: R = 0 at 5e-31). y(a) is analytic on
        so short an a-range, and the rule reaches θ₁ = 0 continuously."""
        w1, panel_weights = _legendre_panels(np.linspace(-TAIL_STDS, TAIL_STDS, OUTER_PANELS + 1), rule.nodes)
        result = self.model.solve_offsets(s * w1, theta2).raise_for_status()
        factor = self.model.jacobian_factor(result, theta2)
        weights = panel_weights * np.exp(-0.5 * w1 * w1) / np.sqrt(2 * np.pi)
        return self._gaussian_assemble(w1, weights, result.value, factor, rho, tau, b1, b2, rule)

    def _gaussian_assemble(self, w1, weights, y, factor, rho, tau, b1, b2, rule):
        """Outer nodes w₁ with weights (density included) → (R, ∇R): inner moments over W₂
        at μ = ρw₁, E[X | W₁] = Σb₁w₁ and E[σ(V)X | W₁] = Σb₁w₁·m0 + Σb₂·m1."""
        m0, m1, m2, inner_nodes = self._inner_moments(rho * w1, tau, rule)
        Sigma = self.population.Sigma
        Sigma_b1, Sigma_b2 = Sigma @ b1, Sigma @ b2
        mean_x = np.outer(w1, Sigma_b1)
        mean_sx = np.outer(w1 * m0, Sigma_b1) + np.outer(m1, Sigma_b2)
        return self._assemble(weights, y, factor, m0, m2, mean_x, mean_sx, inner_nodes)

    def _inner_moments(self, mean, tau, rule: _Rule):
        """E[σ(μ + τW)], E[W·σ(μ + τW)], E[σ(μ + τW)²] for W ~ N(0, 1), at each μ, and the
        number of trapezoid nodes (at most 4097: a step too coarse for a large τ then shows in
        the estimate, whose coarse rule doubles the step)."""
        f = self.model.activation.f
        if tau == 0.0:
            value = f(mean)
            return value, np.zeros_like(mean), value * value, 1
        distance = POLE_DISTANCE.get(self.model.activation.name, 0.5)
        step = INNER_STEP_FACTOR * distance / tau
        count = int(np.clip(np.ceil(2 * INNER_TAIL_STDS / step), INNER_MIN_NODES, INNER_MAX_NODES))
        count = (count // rule.inner_coarsening) | 1
        z, v = _trapezoid_standard_normal(count, INNER_TAIL_STDS)
        values = f(mean[:, None] + tau * z[None, :])
        return values @ v, values @ (v * z), (values * values) @ v, count

    # -- uniform population ---------------------------------------------------------------
    def _uniform(self, theta, order):
        """(R, ∇R) for X ~ U[l, h] (d = 1) by Gauss–Legendre with ``order`` points per panel:
        in u where θ₁ ≠ 0 (panels as for the Gaussian law, the teacher saturating where
        |ξx| = :data:`SATURATION`); in x, with y(θ₁x) from the solver, where the u-range is
        narrow (θ₁ → 0: a = u − θ₂σ(u) at nodes u a few ulps apart cancels to noise, 12 % off
        at θ₁ = 1e-300) and at θ₁ = 0 — so the risk is continuous into θ₁ = 0."""
        low, high = self.population.low, self.population.high
        theta1, theta2, xi = float(theta[0]), float(theta[-1]), float(self.xi[0])
        u_ends = self._u_interval(theta2, theta1 * low, theta1 * high)
        u_low, u_high = min(u_ends), max(u_ends)
        teacher_turns = []  # x-panel ends resolving the teacher's transition |ξx| ≤ SATURATION
        if xi != 0.0 and (high - low) / OUTER_PANELS > FEATURE_PANEL / abs(xi):
            reach = SATURATION / abs(xi)
            start, stop = max(-reach, low), min(reach, high)
            if start < stop:  # the transition lies (partly) in [l, h]; elsewhere σ(ξx) is flat
                teacher_turns = list(_split(start, stop, FEATURE_PANEL / abs(xi)))
        if u_high - u_low >= NARROW_U_RANGE * max(1.0, abs(u_low), abs(u_high)):
            points = list(np.linspace(u_low, u_high, OUTER_PANELS + 1))
            if (u_high - u_low) / OUTER_PANELS > FEATURE_PANEL:
                points += list(_split(-SATURATION, SATURATION, FEATURE_PANEL))
            if teacher_turns:
                points += self._u_points(theta2, theta1 * np.asarray(teacher_turns))
            u, panel_weights = _legendre_panels(
                np.unique([p for p in points if u_low <= p <= u_high]), order)
            y, a, gap, factor = self._nodes_in_u(theta2, u)
            x = a / theta1
            weights = panel_weights * gap / (abs(theta1) * (high - low))
            # the range's ends u(θ₁l), u(θ₁h) are roots within the solver's rounding floor,
            # ≈ 4 eps·|u| each: the rule covers a law whose mass is off by both over the range's
            # width, × (max/min of the density gap): up to 1e-11 relative near the switch to
            # the narrow rule, negligible elsewhere
            ends = (8 * EPS * max(1.0, abs(u_low), abs(u_high)) / (u_high - u_low)
                    * float(np.max(gap) / np.min(gap)))
        else:
            breaks = np.unique([p for p in [*np.linspace(low, high, OUTER_PANELS + 1), *teacher_turns]
                                if low <= p <= high])
            x, panel_weights = _legendre_panels(breaks, order)
            result = self.model.solve_offsets(theta1 * x, theta2).raise_for_status()
            y, factor = result.value, self.model.jacobian_factor(result, theta2)
            weights = panel_weights / (high - low)
            ends = 0.0  # the range [l, h] is exact in x
        target = self.model.activation.f(xi * x)
        value, gradient, (value_rounding, gradient_rounding) = self._assemble(
            weights, y, factor, target, target * target, x[:, None], (x * target)[:, None])
        return value, gradient, (value_rounding + ends * abs(value),
                                 gradient_rounding + ends * float(np.max(np.abs(gradient))))

    # -- moments at the truth (SI-HESS) -----------------------------------------------------
    def feature_moment(self, weight) -> np.ndarray:
        """E[w(V)·(X, σ(V))(X, σ(V))ᵀ] with V = ξᵀX, for a vectorised weight w.

        Gaussian: with V = tZ, e = ξ/t, E[w XXᵀ] = E[w](Σ − ΣeeᵀΣ) + E[wZ²]ΣeeᵀΣ and
        E[w σ X] = E[wσZ]Σe, by a 1-D trapezoid rule in Z. Uniform: Gauss–Legendre in x.
        ``feature_moment(σ'²)·2`` is H* (SI-HESS) and ``feature_moment(1)`` is M (A-nonlin).
        """
        if self.model.is_linear:
            raise InvalidInputError(
                "the linear DEQ has a line of minimisers θ₁ = ξ(1−θ₂), so no isolated truth; "
                "SI-HESS and A-nonlin are statements about single-index models")
        activation = self.model.activation
        if isinstance(self.population, UniformPopulation):
            low, high = self.population.low, self.population.high
            nodes, base = roots_legendre(LEGENDRE_NODES)
            x = 0.5 * (high - low) * nodes + 0.5 * (high + low)
            sigma = activation.f(self.xi[0] * x)
            features = np.column_stack([x, sigma])
            return (features * (0.5 * base * weight(self.xi[0] * x))[:, None]).T @ features
        Sigma, xi = self.population.Sigma, self.xi
        t = float(np.sqrt(max(xi @ Sigma @ xi, 0.0)))
        z, weights = _trapezoid_standard_normal(4001)
        if t == 0.0:
            z, weights = np.zeros(1), np.ones(1)
        sigma, w = activation.f(t * z), weight(t * z) * np.ones_like(z)
        Sigma_e = Sigma @ xi / t if t else np.zeros_like(xi)
        top_left = (weights @ w) * (Sigma - np.outer(Sigma_e, Sigma_e)) + (weights @ (w * z * z)) * np.outer(Sigma_e, Sigma_e)
        top_right = (weights @ (w * sigma * z)) * Sigma_e
        d = xi.size
        moment = np.empty((d + 1, d + 1))
        moment[:d, :d], moment[:d, d], moment[d, :d] = top_left, top_right, top_right
        moment[d, d] = weights @ (w * sigma * sigma)
        return moment

    def hessian_at_truth(self) -> np.ndarray:
        """H* = ∇²R(θ*) = 2E[σ'(ξᵀX)²·(X, σ(ξᵀX))(X, σ(ξᵀX))ᵀ]  (SI-HESS)."""
        return 2.0 * self.feature_moment(lambda v: self.model.activation.df(v) ** 2)

    def reached_pre_activations(self) -> tuple[float, float]:
        """The interval of ξᵀX that carries the mass: [ξl, ξh] (uniform) or ±10‖ξ‖_Σ
        (Gaussian, tail mass < 2e-23), where A-act's slope floor γ is taken."""
        if isinstance(self.population, UniformPopulation):
            ends = self.xi[0] * np.array([self.population.low, self.population.high])
            return float(ends.min()), float(ends.max())
        t = float(np.sqrt(max(self.xi @ self.population.Sigma @ self.xi, 0.0)))
        return -TAIL_STDS * t, TAIL_STDS * t
