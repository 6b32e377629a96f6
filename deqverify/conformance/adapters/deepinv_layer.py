"""deepinv 0.5.0's deep equilibrium models as DEQ layers behind the layer protocol. Requires
the ``deepinv`` extra (deepinv imports torchvision, whose PyPI wheel needs the torch release it
was built for: see the extra's pins).

The layer is plug-and-play proximal gradient descent on a linear inverse problem, the model
deepinv documents for DEQs::

    z ↦ f(z, y) = D_θ(z − γ Aᵀ(Az − y)),        z ∈ R¹⁶, y ∈ R⁸ (the input x is y),

A a fixed 8 × 16 matrix with ‖A‖₂ = 1, γ the trainable step size (1) and D_θ a trainable
tanh-MLP denoiser whose weights have ‖A_D‖₂‖B_D‖₂ = ``lipschitz`` (2 by default: at z*,
‖∂f/∂z‖₂ ≈ 1.04 and ρ(∂f/∂z) ≈ 0.57, a map that iteration solves but not in a few steps; the
backward's error grows like thres_conv·ρ/(1 − ρ), so a nearly flat map would hide what the
backward's stopping rule does). f is deepinv's own iterator at the DEQ's parameters (the step its DEQ takes with the
graph), so the checker's reference solves deepinv's equation, not a re-implementation of it.

Two entry points, as deepinv ships them:

* ``PGD(..., DEQ=DEQConfig(...))`` (current): the forward runs ``max_iter`` iterations (or stops
  on ``early_stop`` with a batch-mean relative step below ``thres_conv``); the backward solves
  u = g + Jᵀu by fixed-point iteration, stopped by the same ``check_conv_fn`` — the *forward's*
  ``thres_conv`` — or at ``max_iter_backward``. Declared ``"ift"`` (``jacobian_free=True``:
  ``"jfb"``).
* ``deepinv.unfolded.DEQ_builder`` (deprecated since 0.3.6, still exported): same forward.

Status: deepinv reports none per sample. Its ``has_converged`` attribute is one flag for the
batch, set when ``early_stop`` sees convergence and never cleared afterwards; the adapter
reports it (after ``early_stop`` runs only) exactly as a user reading it would get it.
"""

from __future__ import annotations

import copy

from deqverify.conformance.adapters.torch_layer import TorchLayer
from deqverify.conformance.layer_protocol import LayerDeclaration

STATE, MEASUREMENTS, HIDDEN = 16, 8, 32
DEFAULTS = {"max_iter": 300, "thres_conv": 1e-5, "early_stop": False, "max_iter_backward": 50,
            "jacobian_free": False}
"""deepinv 0.5.0's defaults (``BaseOptim``: thres_conv 1e-5, early_stop False; ``DEQConfig``:
max_iter_backward 50, jacobian_free False), except ``max_iter`` (default 100), raised so that
the forward converges to rounding at the denoiser's Lipschitz constant: the battery then
judges the backward, not an unconverged forward."""
TIGHT = {"max_iter": 1000, "thres_conv": 1e-13, "early_stop": True, "max_iter_backward": 1000}


def _denoiser_class():
    import torch
    from torch import nn

    class TanhDenoiser(nn.Module):
        """D(z) = B tanh(Az + a) + b with ‖A‖₂‖B‖₂ = ``lipschitz`` (a learned denoiser's stand-in;
        deepinv passes the noise level, which this one ignores)."""

        def __init__(self, lipschitz, seed):
            super().__init__()
            generator = torch.Generator().manual_seed(seed)
            self.A = nn.Linear(STATE, HIDDEN, dtype=torch.float64)
            self.B = nn.Linear(HIDDEN, STATE, dtype=torch.float64)
            with torch.no_grad():
                for layer in (self.A, self.B):
                    weight = torch.randn(layer.weight.shape, generator=generator, dtype=torch.float64)
                    layer.weight.copy_(weight * lipschitz ** 0.5 / torch.linalg.matrix_norm(weight, 2))
                    layer.bias.copy_(0.1 * torch.randn(layer.bias.shape, generator=generator, dtype=torch.float64))

        def forward(self, z, sigma=None, **kwargs):
            return self.B(torch.tanh(self.A(z)))

    return TanhDenoiser


def _module_class():
    import deepinv
    import torch
    from torch import nn

    class DeepinvPGDLayer(nn.Module):
        """z* = deepinv's DEQ (PGD with a PnP denoiser) for the measurement y = x."""

        def __init__(self, denoiser, matrix, settings: dict, builder: bool):
            super().__init__()
            self.denoiser, self.settings, self.builder = denoiser, dict(settings), builder
            self.register_buffer("matrix", matrix)
            prior = deepinv.optim.prior.PnP(denoiser=denoiser)
            fidelity = deepinv.optim.data_fidelity.L2()
            s = self.settings
            if builder:
                from deepinv.unfolded import DEQ_builder

                self.model = DEQ_builder("PGD", params_algo={"stepsize": 1.0, "g_param": 0.1, "lambda": 1.0},
                                         data_fidelity=fidelity, prior=prior, max_iter=s["max_iter"],
                                         thres_conv=s["thres_conv"], early_stop=s["early_stop"],
                                         max_iter_backward=s["max_iter_backward"],
                                         jacobian_free=s["jacobian_free"], trainable_params=["stepsize"])
            else:
                config = deepinv.optim.DEQConfig(max_iter_backward=s["max_iter_backward"],
                                                 jacobian_free=s["jacobian_free"])
                self.model = deepinv.optim.PGD(prior=prior, data_fidelity=fidelity, stepsize=1.0, g_param=0.1,
                                               max_iter=s["max_iter"], thres_conv=s["thres_conv"],
                                               early_stop=s["early_stop"], DEQ=config,
                                               trainable_params=["stepsize"])
            self.model.double()

        def physics(self):
            matrix = self.matrix
            return deepinv.physics.LinearPhysics(A=lambda z: z @ matrix.T, A_adjoint=lambda y: y @ matrix)

        def forward(self, y):
            return self.model(y, self.physics())

        def status(self, y):
            """(z*, deepinv's ``has_converged``), as a user reads it after the call."""
            return self.forward(y), torch.tensor(bool(self.model.has_converged))

        def fmap(self, z, y):
            """One iteration of deepinv's own iterator at the last iteration's parameters (the
            step its DEQ takes with the graph)."""
            model, last = self.model, self.model.max_iter - 1
            fidelity = model.update_data_fidelity_fn(last) if model.update_data_fidelity_fn else None
            prior = model.update_prior_fn(last) if model.update_prior_fn else None
            params = model.update_params_fn(last) if model.update_params_fn else None
            return model.fixed_point.iterator({"est": (z,)}, fidelity, prior, params, y, self.physics())["est"][0]

    return DeepinvPGDLayer


def deepinv_layer(settings: dict | None = None, *, builder=False, lipschitz=2.0, name="deepinv-layer",
                  seed=0) -> TorchLayer:
    """deepinv's DEQ on the PnP-PGD map above, with ``settings`` (see :data:`DEFAULTS`)."""
    import torch

    settings = {**DEFAULTS, **(settings or {})}
    generator = torch.Generator().manual_seed(seed + 1)
    matrix = torch.randn(MEASUREMENTS, STATE, generator=generator, dtype=torch.float64)
    matrix /= torch.linalg.matrix_norm(matrix, 2)
    module = _module_class()(_denoiser_class()(lipschitz, seed), matrix, settings, builder)
    declares = LayerDeclaration(backward="jfb" if settings["jacobian_free"] else "ift",
                                weights=("denoiser.A.weight",), forward_tolerance="thres_conv",
                                iteration_cap="max_iter")

    def rebuild(old, new_settings):
        return _module_class()(copy.deepcopy(old.denoiser), old.matrix.clone(), new_settings, builder)

    # deepinv's only status is has_converged, which early_stop alone sets
    status = (lambda m, y: m.status(y)) if settings["early_stop"] else None
    return TorchLayer(module, lambda m, z, y: m.fmap(z, y), declares=declares, input_shape=(MEASUREMENTS,),
                      state_shape=(STATE,), status=status, settings=settings, rebuild=rebuild, name=name)


def default_layer():
    """``PGD(..., DEQ=True)`` at deepinv's defaults (``max_iter`` 300): declared ift."""
    return deepinv_layer()


def tight_layer():
    """``early_stop`` at thres_conv 1e-13, 1000 forward and backward iterations: declared ift."""
    return deepinv_layer(TIGHT, name="deepinv-layer-tight")


def jacobian_free_layer():
    """``DEQConfig(jacobian_free=True)``: declared jfb."""
    return deepinv_layer({"jacobian_free": True}, name="deepinv-layer-jfb")


def builder_layer():
    """The deprecated ``deepinv.unfolded.DEQ_builder`` at the same settings: declared ift."""
    return deepinv_layer(builder=True, name="deepinv-layer-builder")
