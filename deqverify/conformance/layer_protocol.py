"""The layer protocol: any DEQ layer z* = f(z*, x; θ), numpy in and numpy out, whatever the
framework behind it.

Required::

    name: str
    declares: LayerDeclaration
    input_shape: tuple[int, ...]          # the shape of one sample x (the batch is axis 0)
    state_shape: tuple[int, ...]          # the shape of one sample's state z
    f(z, x) -> z'                         # the layer's map at its current parameters: the model
    solve(x) -> z                         # the forward the user ships, z of shape (n, *state)
    backward(x, g) -> dict                # ∂ℓ/∂θ for a loss with ∂ℓ/∂z* = g, one array per
                                          # parameter, as the user's training step computes it
    parameters() -> dict                  # raw parameters (what the optimiser updates)
    with_parameters(params) -> layer      # a new layer at other raw parameters; self unchanged

Optional::

    solve_status(x) -> (z, converged)     # converged: a bool or (n,) bools
    jvp_f(z, x, v) -> ∂f/∂z · v           # from the framework's autograd; the reference uses
    vjp_f(z, x, u) -> uᵀ ∂f/∂z            # jvp_f and vjp_f_params, and all three are checked
    vjp_f_params(z, x, u) -> dict         # against differences of f (`layer-map-derivatives`)
    settings() -> dict                    # solver settings (tolerances, iteration cap)
    with_settings(**changes) -> layer     # a new layer with other settings; self unchanged
    ignored_settings() -> list            # settings the library never read (an adapter's echo)
    structure() -> dict                   # f as a chain of supported operations (below)

``structure()`` declares f(z, x) = h_L with h₁ = σ₁(W₁z + Ux + b₁), hᵢ = σᵢ(Wᵢhᵢ₋₁ + bᵢ), as
``{"input": U, "layers": [(W₁, b₁, "tanh"), …]}`` (σᵢ a built-in activation name; z and x
flattened per sample). With the [certify] extra, the checker holds the declaration to f and
then proves its own reference fixed points (``layer-forward-accuracy`` says "reference
certified (radius r)"); a declaration that is not f is refused, never trusted.

Without ``jvp_f``/``vjp_f`` the checker differentiates f by central differences with the step
eps^(1/3)·max(1, |z|) (truncation and rounding both ≈ eps^(2/3) ≈ 4e-11 relative); without
``vjp_f_params``, by central differences in each raw parameter through ``with_parameters``.

The backward mode a layer declares is the oracle its gradient is held to:

* ``"ift"`` — the implicit gradient gᵀ(I − J)⁻¹ ∂f/∂θ, J = ∂f/∂z at z*;
* ``("phantom", k, τ)`` — the k-step damped phantom gradient gᵀ·τΣ_{i<k}Bⁱ·∂f/∂θ with
  B = τJ + (1−τ)I (BWD-PHANTOM: τΣ_{i<k}Bⁱ = (I − J)⁻¹(I − Bᵏ) exactly, so the declared
  approximation is checked to rounding);
* ``"jfb"`` — the Jacobian-free gradient gᵀ∂f/∂θ (phantom(1, 1)): held to being a descent
  direction of the exact one (cosine > 0), its distance to phantom(1, 1) reported;
* ``"unrolled"`` — backpropagation through the layer's own iterations: held to central
  differences of ``solve`` itself.

Answers are read as in the scalar protocol: ``np.asarray(value, dtype=float64)`` of exactly
the shape due, or a protocol violation. A sample is flagged by a raise (every sample), a NaN
in its state or ``converged = False``; an inf is a flag only when the layer does not report a
status — a status that calls a non-finite state converged is dishonest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deqverify.core.errors import InvalidInputError

BACKWARD_KINDS = ("ift", "phantom", "jfb", "unrolled")
BATCH_CONVENTIONS = ("independent", "coupled")
LAYER_DTYPES = ("float64", "float32")
REQUIRED_METHODS = ("f", "solve", "backward", "parameters", "with_parameters")


@dataclass(frozen=True)
class BackwardMode:
    """A declared backward mode; ``steps``/``damping`` are k and τ of a phantom gradient."""

    kind: str
    steps: int = 0
    damping: float = 1.0

    def __str__(self) -> str:
        if self.kind == "phantom":
            return f"phantom(k={self.steps}, τ={self.damping:g})"
        return self.kind


def parse_backward(value) -> BackwardMode:
    """``"ift"``, ``"jfb"``, ``"unrolled"`` or ``("phantom", k, τ)`` → :class:`BackwardMode`."""
    if isinstance(value, BackwardMode):
        return value
    if isinstance(value, str) and value in BACKWARD_KINDS and value != "phantom":
        return BackwardMode(value)
    if (isinstance(value, (tuple, list)) and len(value) == 3 and value[0] == "phantom"
            and isinstance(value[1], (int, np.integer)) and not isinstance(value[1], bool)
            and isinstance(value[2], (int, float, np.floating)) and not isinstance(value[2], bool)):
        k, tau = int(value[1]), float(value[2])
        if k >= 1 and 0.0 < tau <= 1.0:
            return BackwardMode("phantom", k, tau)
    raise InvalidInputError(
        f"backward={value!r} is not a backward mode: declare 'ift', 'jfb', 'unrolled' or "
        "('phantom', k, tau) with an integer k ≥ 1 and 0 < tau ≤ 1")


def _names(field: str, value) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    value = tuple(value)
    if not all(isinstance(v, str) and v for v in value):
        raise InvalidInputError(f"LayerDeclaration({field}={value!r}): give parameter names as strings")
    return value


@dataclass(frozen=True)
class LayerDeclaration:
    """What a layer declares; the battery holds it to exactly this.

    Parameters
    ----------
    backward : the backward mode (see the module docstring).
    batch : ``"independent"`` (sample i's state depends only on x_i: checked) or
        ``"coupled"`` (e.g. batch normalisation), which needs ``reason``.
    dtypes : the input dtypes the layer computes in (float64 always; float32 optional).
    weights : raw parameters that multiply the state (W in σ(Wz + Ux + b)); the
        near-instability sweep scales them to move ρ(∂f/∂z). Empty: the sweep is skipped.
    forward_tolerance, iteration_cap : names of the forward solver's settings (in
        ``settings()``), for the tolerance-coupling and memory checks.
    gradient_tolerance : relative error the backward claims against its declared oracle.
    """

    backward: object = "ift"
    batch: str = "independent"
    reason: str = ""
    dtypes: tuple[str, ...] = ("float64",)
    weights: tuple[str, ...] = ()
    forward_tolerance: str | None = None
    iteration_cap: str | None = None
    gradient_tolerance: float = 1e-6

    def __post_init__(self):
        object.__setattr__(self, "backward", parse_backward(self.backward))
        if self.batch not in BATCH_CONVENTIONS:
            raise InvalidInputError(f"LayerDeclaration(batch={self.batch!r}): declare one of "
                                    f"{BATCH_CONVENTIONS}")
        if self.batch == "coupled" and not (isinstance(self.reason, str) and self.reason.strip()):
            raise InvalidInputError("LayerDeclaration(batch='coupled') needs reason='...' (e.g. "
                                    "'batch normalisation'): a coupled batch skips the "
                                    "batch-independence check, so say why")
        dtypes = _names("dtypes", self.dtypes)
        if "float64" not in dtypes or any(d not in LAYER_DTYPES for d in dtypes):
            raise InvalidInputError(f"LayerDeclaration(dtypes={dtypes!r}): a subset of "
                                    f"{LAYER_DTYPES} that includes 'float64'")
        object.__setattr__(self, "dtypes", dtypes)
        object.__setattr__(self, "weights", _names("weights", self.weights))
        for field in ("forward_tolerance", "iteration_cap"):
            value = getattr(self, field)
            if value is not None and not (isinstance(value, str) and value):
                raise InvalidInputError(f"LayerDeclaration({field}={value!r}): the name of a "
                                        "setting in settings(), or None")
        tolerance = self.gradient_tolerance
        if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0 < tolerance < 1:
            raise InvalidInputError(f"LayerDeclaration(gradient_tolerance={tolerance!r}): a "
                                    "relative error in (0, 1), e.g. 1e-6")

    @property
    def independent(self) -> bool:
        return self.batch == "independent"


def is_layer(impl) -> bool:
    """Whether ``impl`` declares the layer protocol (a :class:`LayerDeclaration` in ``declares``)."""
    return isinstance(getattr(impl, "declares", None), LayerDeclaration)
