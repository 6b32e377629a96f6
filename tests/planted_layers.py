"""DEQ layers for the layer battery's meta-tests: correct ones declaring each backward mode, and
layers with the defects practitioners meet (written from their descriptions; no library code).

Most are one-layer tanh maps f(z, x) = tanh(Wz + Ux + b) (``MLPLayer`` of depth 1 from the
example); each class names the defect it plants, and ``tests/test_layer_battery.py`` maps
it to the check that must fail.
"""

import numpy as np

from deqverify.conformance.layer_protocol import LayerDeclaration
from examples.numpy_mlp_layer import MLPLayer

DECLARED = dict(weights=("W1",), forward_tolerance="f_tol", iteration_cap="max_iter")


def tanh_params(state=8, inputs=4, contraction=0.8, seed=0):
    return MLPLayer.random(state=state, inputs=inputs, depth=1, contraction=contraction, seed=seed).parameters()


class TanhLayer(MLPLayer):
    """A correct one-layer layer declaring ``ift`` (the base of the planted ones)."""

    name = "tanh-ift"
    declares = LayerDeclaration(backward="ift", dtypes=("float64", "float32"), **DECLARED)

    def __init__(self, params=None, depth=1, settings=None):
        super().__init__(tanh_params() if params is None else params, depth, settings)

    def adjoint(self, z, x, g, steps=None, tau=1.0):
        """u with u = g + Jᵀu (steps=None), or τΣ_{i<k}(Bᵀ)ⁱg for a k-step phantom gradient."""
        if steps is None:
            J = self.jacobians(z, x)
            return np.linalg.solve(np.eye(J.shape[1]) - np.swapaxes(J, 1, 2), g[..., None])[..., 0]
        u, w = np.zeros_like(g), g.copy()
        for _ in range(steps):
            u += tau * w
            w = tau * self.vjp_f(z, x, w) + (1 - tau) * w
        return u

    def jacobians(self, z, x):
        W = self._params["W1"]
        slope = 1 - self.f(z, x) ** 2
        return slope[:, :, None] * W[None]

    def backward(self, x, g):
        z = self.solve(x)
        return self.vjp_f_params(z, np.asarray(x, dtype=float), self.adjoint(z, np.asarray(x, dtype=float), g))


class PhantomLayer(TanhLayer):
    """Correct, declaring the 5-step phantom gradient with damping 0.5."""

    name = "tanh-phantom"
    declares = LayerDeclaration(backward=("phantom", 5, 0.5), **DECLARED)

    def backward(self, x, g):
        z = self.solve(x)
        return self.vjp_f_params(z, x, self.adjoint(z, x, g, steps=5, tau=0.5))


class JFBLayer(TanhLayer):
    """Correct, declaring the Jacobian-free gradient gᵀ∂f/∂θ."""

    name = "tanh-jfb"
    declares = LayerDeclaration(backward="jfb", **DECLARED)

    def backward(self, x, g):
        return self.vjp_f_params(self.solve(x), x, g)


class UnrolledLayer(TanhLayer):
    """Correct, declaring ``unrolled``: 40 plain iterations from 0, backpropagated exactly."""

    name = "tanh-unrolled"
    declares = LayerDeclaration(backward="unrolled", weights=("W1",))
    steps = 40

    def iterates(self, x):
        z = [np.zeros((np.shape(x)[0], *self.state_shape))]
        for _ in range(self.steps):
            z.append(self.f(z[-1], x))
        return z

    def solve(self, x):
        return self.iterates(x)[-1]

    def solve_status(self, x):
        z = self.solve(x)
        with np.errstate(invalid="ignore"):
            return z, np.linalg.norm(self.f(z, x) - z, axis=1) <= 1e-6 * np.maximum(1, np.linalg.norm(z, axis=1))

    def backward(self, x, g):
        return self.backprop(self.iterates(x), x, g)

    def backprop(self, zs, x, g):
        """Reverse mode through z_{i+1} = f(z_i, x) for the iterates ``zs``."""
        grads, u = {k: np.zeros_like(v) for k, v in self._params.items()}, np.asarray(g, dtype=float)
        for z in reversed(zs[:-1]):
            for k, v in self.vjp_f_params(z, x, u).items():
                grads[k] += v
            u = self.vjp_f(z, x, u)
        return grads


class CoupledLayer(TanhLayer):
    """Correct and batch-coupled (declared): the input is centred on the batch mean."""

    name = "tanh-coupled"
    declares = LayerDeclaration(backward="ift", batch="coupled", reason="inputs centred on the batch mean",
                                **DECLARED)

    def f(self, z, x):
        return super().f(z, x - x.mean(axis=0))

    def jvp_f(self, z, x, v):
        return super().jvp_f(z, x - x.mean(axis=0), v)

    def vjp_f(self, z, x, u):
        return super().vjp_f(z, x - x.mean(axis=0), u)

    def vjp_f_params(self, z, x, u):
        return super().vjp_f_params(z, x - x.mean(axis=0), u)

    def solve_status(self, x):
        """Plain iteration on the whole batch (a sub-batch would have another mean)."""
        z = np.zeros((np.shape(x)[0], *self.state_shape))
        for _ in range(self._settings["max_iter"]):
            new = self.f(z, x)
            residual = np.linalg.norm(new - z, axis=1)
            z = new
            if np.all(residual <= 0.1 * self._settings["f_tol"]):
                break
        return z, np.linalg.norm(self.f(z, x) - z, axis=1) <= self._settings["f_tol"]

    def backward(self, x, g):
        z = self.solve(x)
        return self.vjp_f_params(z, x, self.adjoint(z, x, g))


# ---- forward defects ------------------------------------------------------------------

class TutorialLoop(TanhLayer):
    """The most-copied tutorial pattern: ``while ‖z − z_prev‖ > tol`` with no iteration cap,
    reporting convergence whenever the loop ends (hangs on a bounded 2-cycle)."""

    name = "tutorial-loop"
    declares = LayerDeclaration(backward="ift", weights=("W1",), forward_tolerance="f_tol")
    defaults = {**TanhLayer.defaults, "f_tol": 1e-10}

    def solve_status(self, x):
        z = np.zeros((np.shape(x)[0], *self.state_shape))
        previous = z + np.inf
        with np.errstate(invalid="ignore", over="ignore"):
            while np.linalg.norm(z - previous) > self._settings["f_tol"]:
                previous, z = z, self.f(z, x)
        return z, True


class TutorialLinear(TutorialLoop):
    """The tutorial loop (with a cap) on a linear map f = Wz + Ux + b, reporting convergence
    whenever it ends: on an expanding map the iterates reach inf, inf − inf is NaN, the test
    ``NaN > tol`` is False and inf is returned as a converged fixed point."""

    name = "tutorial-inf"

    def solve_status(self, x):
        z = np.zeros((np.shape(x)[0], *self.state_shape))
        previous = z + np.inf
        with np.errstate(invalid="ignore", over="ignore"):
            for _ in range(self._settings["max_iter"]):
                if not np.linalg.norm(z - previous) > self._settings["f_tol"]:
                    break
                previous, z = z, self.f(z, x)
        return z, True

    def f(self, z, x):
        p = self._params
        with np.errstate(over="ignore", invalid="ignore"):
            return z @ p["W1"].T + x @ p["U"].T + p["b1"]

    def jvp_f(self, z, x, v):
        return v @ self._params["W1"].T

    def vjp_f(self, z, x, u):
        return u @ self._params["W1"]

    def vjp_f_params(self, z, x, u):
        return {"W1": u.T @ z, "U": u.T @ x, "b1": u.sum(axis=0)}

    def jacobians(self, z, x):
        return np.broadcast_to(self._params["W1"], (z.shape[0], *self._params["W1"].shape))


class SloppyFloat32(TanhLayer):
    """In float32 the tolerance is silently raised to 1e-3 while convergence is still
    reported against the declared one (float32 false convergence)."""

    name = "sloppy-float32"

    def solve_status(self, x):
        if np.asarray(x).dtype != np.float32:
            return super().solve_status(x)
        x = np.asarray(x)
        z = np.zeros((x.shape[0], *self.state_shape), dtype=np.float32)
        for _ in range(self._settings["max_iter"]):
            new = self.f(z, x)
            step, z = np.max(np.abs(new - z)), new
            if step < 1e-3:
                break
        return z, True


class BatchNormStopping(TanhLayer):
    """Stops when ‖f(Z) − Z‖ over the whole batch ≤ tol·‖Z‖ and reports that one verdict for
    every sample: a hard sample among easy ones carries the batch's residual."""

    name = "batch-norm-stopping"
    defaults = {**TanhLayer.defaults, "f_tol": 1e-8}

    def solve_status(self, x):
        z = np.zeros((np.shape(x)[0], *self.state_shape))
        done = False
        for _ in range(self._settings["max_iter"]):
            new = self.f(z, x)
            done = np.linalg.norm(new - z) <= self._settings["f_tol"] * np.linalg.norm(new)
            z = new
            if done:
                break
        return z, done


class NaNZeroingBroyden(TanhLayer):
    """Broyden's method on g(z) = f(z) − z with the update's NaNs zeroed (``u[u != u] = 0``)
    and one stopping norm over the whole batch: a NaN input row comes back finite and
    'converged'."""

    name = "nan-zeroing-broyden"

    def solve_status(self, x):
        n, k = np.shape(x)[0], self.state_shape[0]
        z = np.zeros((n, k))
        H = -np.broadcast_to(np.eye(k), (n, k, k)).copy()  # inverse Jacobian of g, initial −I
        with np.errstate(invalid="ignore", over="ignore"):
            g = self.f(z, x) - z
            for _ in range(self._settings["max_iter"]):
                step = -np.einsum("nij,nj->ni", H, g)
                step[step != step] = 0  # the planted defect
                z = z + step
                new = self.f(z, x) - z
                new[new != new] = 0
                dg = new - g
                Hdg = np.einsum("nij,nj->ni", H, dg)
                denom = np.einsum("ni,ni->n", step, Hdg)
                denom[np.abs(denom) < 1e-300] = 1e-300
                H += np.einsum("ni,nj->nij", (step - Hdg) / denom[:, None], np.einsum("ni,nij->nj", step, H))
                g = new
                if np.linalg.norm(g) <= self._settings["f_tol"] * max(1.0, np.linalg.norm(z)):
                    break
        return z, True


class MutatesInput(TanhLayer):
    """Centres the caller's x in place after solving (like ``A.triu_(1)`` on a caller's matrix)."""

    name = "mutates-input"

    def solve_status(self, x):
        out = super().solve_status(x)
        x -= x.mean(axis=0)
        return out


class NonDeterministic(TanhLayer):
    """Adds noise at the rounding level to the state: two identical calls differ."""

    name = "non-deterministic"

    def solve_status(self, x):
        z, converged = super().solve_status(x)
        return z * (1 + 1e-15 * np.random.default_rng().standard_normal(z.shape)), converged


class BatchLeak(TanhLayer):
    """Declared independent, but the solve centres the inputs on the batch mean."""

    name = "batch-leak"

    def solve_status(self, x):
        x = np.asarray(x)
        return super().solve_status(x + 0.01 * x.mean(axis=0))


class ClassAttributeSettings(TanhLayer):
    """Solver settings as class attributes: building a second layer with other settings
    changes the first one's tolerance and cap."""

    name = "class-settings"
    shared = dict(TanhLayer.defaults)

    def __init__(self, params=None, depth=1, settings=None):
        super().__init__(params, depth)
        type(self).shared.update(settings or {})
        self._settings = type(self).shared


class MonotoneLayer(TanhLayer):
    """A monotone-operator layer z = relu(Wz + Ux + b), W = (1 − m)I − AᵀA + B − Bᵀ, solved by
    forward–backward splitting z ← relu((1 − α)z + α(Wz + Ux + b)); α = m/‖I − W‖₂² is safe
    (contraction √(1 − m²/‖I − W‖₂²) < 1, MON-WP)."""

    name = "monotone-safe"
    declares = LayerDeclaration(backward="ift", forward_tolerance="f_tol", iteration_cap="max_iter")
    defaults = {"f_tol": 1e-12, "b_tol": 1e-12, "max_iter": 5000, "alpha": None}

    def __init__(self, params=None, depth=1, settings=None):
        if params is None:
            rng = np.random.default_rng(4)
            params = {"A": 0.2 * rng.standard_normal((8, 8)), "B": 0.2 * rng.standard_normal((8, 8)),
                      "U": rng.standard_normal((8, 4)), "b1": 0.1 * rng.standard_normal(8)}
        self._params = {k: np.array(v, dtype=float) for k, v in params.items()}
        self._settings = {**self.defaults, **(settings or {})}
        self.depth, self.state_shape, self.input_shape = 1, (8,), (4,)

    def W(self, m=1.0):
        A, B = self._params["A"], self._params["B"]
        return (1 - m) * np.eye(8) - A.T @ A + B - B.T

    def pre(self, z, x):
        return z @ self.W().T + x @ self._params["U"].T + self._params["b1"]

    def f(self, z, x):
        return np.maximum(self.pre(z, x), 0.0)

    def jvp_f(self, z, x, v):
        return (self.pre(z, x) > 0) * (v @ self.W().T)

    def vjp_f(self, z, x, u):
        return ((self.pre(z, x) > 0) * u) @ self.W()

    def vjp_f_params(self, z, x, u):
        d = (self.pre(z, x) > 0) * u
        GW = d.T @ z  # ∂/∂W of Σ d·(Wz); W = (1 − m)I − AᵀA + B − Bᵀ
        A = self._params["A"]
        return {"A": -A @ (GW + GW.T), "B": GW - GW.T, "U": d.T @ x, "b1": d.sum(axis=0)}

    def jacobians(self, z, x):
        return (self.pre(z, x) > 0)[:, :, None] * self.W()[None]

    def step_size(self):
        alpha = self._settings["alpha"]
        return 1.0 / np.linalg.norm(np.eye(8) - self.W(), 2) ** 2 if alpha is None else alpha

    def solve_status(self, x):
        alpha = self.step_size()
        z = np.zeros((np.shape(x)[0], 8))
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(self._settings["max_iter"]):
                new = np.maximum((1 - alpha) * z + alpha * self.pre(z, x), 0.0)
                step, z = np.max(np.abs(new - z), initial=0.0), new
                if step <= 1e-3 * self._settings["f_tol"]:  # contraction ≈ 0.9: residual ≪ f_tol
                    break
        residual = np.linalg.norm(self.f(z, x) - z, axis=1)
        return z, residual <= self._settings["f_tol"] * np.maximum(1, np.linalg.norm(z, axis=1))

    def with_parameters(self, params):
        return type(self)(params, 1, self._settings)

    def with_settings(self, **changes):
        return type(self)(self._params, 1, {**self._settings, **changes})


class MonotoneAlphaOne(MonotoneLayer):
    """Forward–backward splitting at the default step α = 1 (above 2m/‖I − W‖₂²): the iteration
    diverges, and a finite state is returned as converged after the cap."""

    name = "monotone-alpha-1"
    defaults = {**MonotoneLayer.defaults, "alpha": 1.0, "max_iter": 60}

    def solve_status(self, x):
        z, _ = super().solve_status(x)
        return np.nan_to_num(z, nan=0.0, posinf=1e30, neginf=-1e30), True


# ---- backward defects -----------------------------------------------------------------

class BackwardCrashes(TanhLayer):
    """The forward works; the backward's solver was called with a renamed keyword."""

    name = "backward-crashes"

    def backward(self, x, g):
        def backward_solver(function, start, *, threshold):
            return start
        return backward_solver(lambda u: u, g, tol=1e-6)


class BackwardTiedToForwardTolerance(TanhLayer):
    """The forward converges to rounding whatever its tolerance (Newton); the backward's
    adjoint iteration stops at the *forward* tolerance f_tol."""

    name = "backward-tied-to-f_tol"
    defaults = {**TanhLayer.defaults, "f_tol": 1e-3}

    def solve_status(self, x):
        z = np.zeros((np.shape(x)[0], *self.state_shape))
        for _ in range(50):
            J = self.jacobians(z, x)
            z = z - np.linalg.solve(np.eye(z.shape[1]) - J, (z - self.f(z, x))[..., None])[..., 0]
        return z, True

    def backward(self, x, g):
        z = self.solve(x)
        u = g.copy()
        for _ in range(self._settings["max_iter"]):
            new = g + self.vjp_f(z, x, u)
            done = np.max(np.abs(new - u)) <= self._settings["f_tol"]
            u = new
            if done:
                break
        return self.vjp_f_params(z, x, u)


class JFBDeclaredIFT(JFBLayer):
    """Computes the Jacobian-free gradient but declares ``ift``."""

    name = "jfb-declared-ift"
    declares = TanhLayer.declares


class ProjectionLeftOut(TanhLayer):
    """f uses W projected onto the ball ‖W‖₂ ≤ 0.5 (the raw W lies outside); the backward
    returns the gradient with respect to the projected W as if it were the raw one."""

    name = "projection-left-out"
    radius = 0.5

    def projected(self, params):
        W = params["W1"]
        return {**params, "W1": W * min(1.0, self.radius / np.linalg.norm(W, 2))}

    def __init__(self, params=None, depth=1, settings=None):
        super().__init__(tanh_params(contraction=0.9) if params is None else params, depth, settings)
        self.raw = self._params
        self.map.params = self.projected(self.raw)

    def jacobians(self, z, x):
        return (1 - self.f(z, x) ** 2)[:, :, None] * self.map.params["W1"][None]

    def vjp_f_params(self, z, x, u):
        return self.map._backprop(z, x, u)[1]  # with respect to the projected W (the defect)


class StoredTraces(TanhLayer):
    """Keeps every iterate (for a later backward), so memory grows with the iteration cap."""

    name = "stored-traces"

    def solve_status(self, x):
        z = np.zeros((np.shape(x)[0], *self.state_shape))
        self.trace = [z]
        for _ in range(self._settings["max_iter"]):
            new = self.f(z, x)
            self.trace.append(new)
            done = np.max(np.abs(new - z)) <= self._settings["f_tol"]
            z = new
            if done:
                break
        self.trace = []
        return z, True


class DenseBatchBackward(TanhLayer):
    """Solves the adjoint as one dense (nK × nK) system over the whole batch: cubic in n."""

    name = "dense-batch-backward"

    def backward(self, x, g):
        z = self.solve(x)
        J = self.jacobians(z, x)
        n, k = g.shape
        big = np.zeros((n * k, n * k))
        for i in range(n):
            big[i * k:(i + 1) * k, i * k:(i + 1) * k] = J[i]
        u = np.linalg.solve(np.eye(n * k) - big.T, g.ravel()).reshape(n, k)
        return self.vjp_f_params(z, x, u)


class WrongParameterVJP(TanhLayer):
    """The map's declared vjp_f_params transposes W's gradient (the backward uses it too)."""

    name = "wrong-vjp-params"

    def vjp_f_params(self, z, x, u):
        grads = super().vjp_f_params(z, x, u)
        return {**grads, "W1": grads["W1"].T}


class LooseTolerance(TanhLayer):
    """Correct at a loose declared forward tolerance (1e-4), in float64 and float32: judged by
    that tolerance, not by rounding."""

    name = "tanh-loose-tolerance"
    defaults = {**TanhLayer.defaults, "f_tol": 1e-4}


class LooseForwardIFT(TanhLayer):
    """Correct: exact IFT at its own state, with a forward at f_tol = 1e-3 (torchdeq's default
    tolerance)."""

    name = "tanh-ift-f_tol-1e-3"
    declares = LayerDeclaration(backward="ift", **DECLARED)
    defaults = {**TanhLayer.defaults, "f_tol": 1e-3}


class NegatedJFB(JFBLayer):
    """Declares ``jfb`` and returns minus the Jacobian-free gradient: an ascent direction."""

    name = "negated-jfb"

    def backward(self, x, g):
        return {k: -v for k, v in super().backward(x, g).items()}


class FlagHidesWrongGradient(TanhLayer):
    """Flags sample 0 (and moves it by 1) and returns minus the IFT gradient: a flagged sample
    must buy the backward no slack."""

    name = "flag-hides-wrong-gradient"

    def solve_status(self, x):
        z, converged = super().solve_status(x)
        z, converged = z.copy(), np.array(converged, dtype=bool)
        z[0] += 1.0
        converged[0] = False
        return z, converged

    def backward(self, x, g):
        return {k: -v for k, v in super().backward(x, g).items()}


class GivesUpOnSomeSamples(TanhLayer):
    """Honest about what it leaves unsolved: samples with x₀ > 0.5 are moved off their fixed
    point and flagged (converged = False) in every batch, whatever else the batch holds."""

    name = "gives-up-on-some-samples"

    def solve_status(self, x):
        z, converged = super().solve_status(x)
        z, converged = z.copy(), np.array(converged, dtype=bool) & np.ones(len(z), dtype=bool)
        hard = np.asarray(x)[:, 0] > 0.5
        z[hard] += 1.0
        converged[hard] = False
        return z, converged


class NaNVJP(TanhLayer):
    """Declares a vjp_f that returns NaN: the map's derivatives must be checked, and a NaN is
    never a small error."""

    name = "nan-vjp"

    def vjp_f(self, z, x, u):
        return np.full(np.shape(u), np.nan)


class NaNGradient(TanhLayer):
    """The backward returns NaN for one parameter."""

    name = "nan-gradient"

    def backward(self, x, g):
        grads = super().backward(x, g)
        grads["W1"] = np.full_like(grads["W1"], np.nan)
        return grads


class TruncatedUnrolled(UnrolledLayer):
    """Declares ``unrolled`` but backpropagates through the last 5 of its 40 iterations only."""

    name = "truncated-unrolled"

    def backward(self, x, g):
        return self.backprop(self.iterates(x)[-6:], x, g)


class WrongJVP(TanhLayer):
    """Declares a jvp_f twice the true one."""

    name = "wrong-jvp"

    def jvp_f(self, z, x, v):
        return 2 * super().jvp_f(z, x, v)


class IgnoredSetting(TanhLayer):
    """An adapter that reports a setting its library never read."""

    name = "ignored-setting"

    def ignored_settings(self):
        return ["stop_mode"]


class WrongShapeSolve(TanhLayer):
    """solve returns the state without its batch axis for a batch of one row too many."""

    name = "wrong-shape-solve"

    def solve_status(self, x):
        z, converged = super().solve_status(x)
        return z[:-1], converged


class MutatesOwnParameters(TanhLayer):
    """The backward zeroes the lower triangle of its own W in place (like ``A.triu_(1)``)."""

    name = "mutates-own-parameters"

    def backward(self, x, g):
        grads = super().backward(x, g)
        self._params["W1"][np.tril_indices(self._params["W1"].shape[0], -1)] = 0.0
        return grads


class MeanNotSumGradient(TanhLayer):
    """Returns the gradient of the batch *mean* of g·z* while the protocol asks for the sum:
    the gradient of a batch is not the sum of its halves' gradients."""

    name = "mean-not-sum-gradient"

    def backward(self, x, g):
        return {k: v / np.shape(x)[0] for k, v in super().backward(x, g).items()}
