"""torchdeq 0.1.0 (``torchdeq.get_deq``) as a DEQ layer behind the layer protocol, around the
MLP-tanh map of :mod:`.torch_maps` (state 16, input 8). Requires the ``torch`` extra.

The declared backward follows torchdeq's documented meaning of its settings: ``ift=True`` is
the implicit gradient; otherwise ``grad=k, tau=τ`` is the k-step damped phantom gradient
(default k = 1, τ = 1: the Jacobian-free gradient). ``declare=`` overrides it (to ask the
battery whether the default backward could pass as IFT: it cannot).

torchdeq reads its settings from a config object with ``get(key)``; the adapter records the
keys read while the DEQ is built (torchdeq 0.1.0 reads every setting there), and reports every
requested setting torchdeq never read (``ignored_settings``) — a misspelled knob (``stop_mode``
for ``f_stop_mode``) is silently ignored by the library.
"""

from __future__ import annotations

import copy


from deqverify.conformance.adapters.torch_layer import TorchLayer
from deqverify.conformance.layer_protocol import LayerDeclaration

DEFAULTS = {"f_tol": 1e-3, "f_max_iter": 40, "f_stop_mode": "abs", "grad": 1, "tau": 1.0}
"""torchdeq 0.1.0's documented defaults for the settings the battery reads."""
EXACT = dict(f_solver="anderson", f_max_iter=200, f_tol=1e-12, ift=True, b_solver="anderson",
             b_max_iter=200, b_tol=1e-12)


def _recording_get_deq(settings: dict):
    """(deq, keys read while building it) — ``DEQConfig.get`` wrapped for the duration."""
    from torchdeq import get_deq
    from torchdeq.utils.config import DEQConfig

    read, original = set(), DEQConfig.get

    def get(self, key, default=None):
        read.add(key)
        return original(self, key, default)

    DEQConfig.get = get
    try:
        return get_deq(**settings), read
    finally:
        DEQConfig.get = original


def _module_class():
    import torch
    from torch import nn

    class TorchDEQLayerModule(nn.Module):
        """z* = torchdeq's DEQ on f(·, x), in training mode (the graph a training step builds)."""

        def __init__(self, fmap, settings: dict):
            super().__init__()
            self.fmap, self.settings = fmap, dict(settings)
            self.deq, self.read = _recording_get_deq(self.settings)
            self.deq.train()

        def run(self, x):
            z0 = torch.zeros(x.shape[0], *self.fmap.state_shape, dtype=x.dtype)
            z_out, info = self.deq(lambda z: self.fmap(z, x), z0)
            return z_out[-1], info

        def forward(self, x):
            return self.run(x)[0]

        def status(self, x):
            """(z, converged per sample) from torchdeq's own per-sample statistics."""
            z, info = self.run(x)
            lowest = info["rel_lowest" if self.deq.f_stop_mode == "rel" else "abs_lowest"]
            return z, lowest <= self.deq.f_tol  # per sample: (n,) in torchdeq 0.1.0

    return TorchDEQLayerModule


def _declared(settings: dict):
    if settings.get("ift"):
        return "ift"
    return ("phantom", int(settings.get("grad", DEFAULTS["grad"])), float(settings.get("tau", DEFAULTS["tau"])))


def torchdeq_layer(settings: dict | None = None, declare=None, name="torchdeq-layer", fmap=None,
                   weights=("fmap.W1.weight",), coupled: str | None = None) -> TorchLayer:
    """A torchdeq DEQ with ``settings`` passed to ``get_deq``, on ``fmap`` (a module of
    :mod:`.torch_maps`; the MLP-tanh map by default) whose ``weights`` the instability sweep
    scales; ``coupled``: the reason the batch is one system (declared batch-coupled)."""
    from deqverify.conformance.adapters.torch_maps import MLPTanhMap

    settings = dict(settings or {})
    module = _module_class()(MLPTanhMap() if fmap is None else fmap, settings)
    effective = {**DEFAULTS, **settings}
    batch = {"batch": "coupled", "reason": coupled} if coupled else {}
    declares = LayerDeclaration(backward=declare or _declared(effective), weights=weights,
                                forward_tolerance="f_tol", iteration_cap="f_max_iter", **batch)

    def rebuild(old, new_settings):
        return _module_class()(copy.deepcopy(old.fmap), new_settings)

    layer = TorchLayer(module, lambda m, z, x: m.fmap(z, x), declares=declares,
                       input_shape=module.fmap.input_shape, state_shape=module.fmap.state_shape,
                       status=lambda m, x: m.status(x), settings=effective, rebuild=rebuild, name=name)
    ignored = sorted(set(settings) - module.read)
    layer.ignored_settings = lambda: list(ignored)
    return layer


def default_layer():
    """torchdeq's defaults: fixed-point iteration, 40 steps, f_tol 1e-3, phantom(1, 1)."""
    return torchdeq_layer()


def exact_layer():
    """Anderson to 1e-12 and implicit differentiation (b_tol 1e-12)."""
    return torchdeq_layer(EXACT, name="torchdeq-layer-ift")


def phantom_layer():
    """grad=5, tau=0.5: declared phantom(5, 0.5); a tight forward (Anderson, 1e-12)."""
    return torchdeq_layer({"f_solver": "anderson", "f_max_iter": 200, "f_tol": 1e-12, "grad": 5, "tau": 0.5},
                          name="torchdeq-layer-phantom")


def broyden_layer():
    """Broyden's method forward and backward (tol 1e-12) with implicit differentiation."""
    return torchdeq_layer({**EXACT, "f_solver": "broyden", "b_solver": "broyden"}, name="torchdeq-layer-broyden")


def sliced_layer():
    """The ``DEQSliced`` core: the forward cut into ``n_states=2`` solves of 100 Anderson steps
    each (tol 1e-12), a phantom(5, 0.5) gradient at the end of each, the next solve resuming from
    it without a graph. The last state's gradient is therefore phantom(5, 0.5) at that state."""
    return torchdeq_layer({"core": "sliced", "n_states": 2, "f_solver": "anderson", "f_max_iter": 200,
                           "f_tol": 1e-12, "grad": 5, "tau": 0.5}, name="torchdeq-layer-sliced")


def states_layer():
    """``DEQIndexing`` with ``n_states=2`` (two states sampled from the trajectory, each with its
    gradient) and ``ift=True``: the last state, which the layer returns, gets the implicit one."""
    return torchdeq_layer({**EXACT, "n_states": 2}, name="torchdeq-layer-states")


def conv_layer():
    """The exact configuration on a convolutional block with group normalisation (state
    (4, 4, 4), input (2, 4, 4))."""
    from deqverify.conformance.adapters.torch_maps import ConvGroupNormMap

    return torchdeq_layer(EXACT, name="torchdeq-layer-conv", fmap=ConvGroupNormMap(), weights=("fmap.conv_z.weight",))


MONOTONE_SETTINGS = {"f_solver": "fixed_point_iter", "f_max_iter": 200, "f_tol": 1e-12, "ift": True,
                     "b_solver": "fixed_point_iter", "b_max_iter": 200, "b_tol": 1e-12}
"""torchdeq's fixed-point iteration (200 steps, tol 1e-12) and IFT backward, for both steps."""


def monotone_alpha_one_layer():
    """The monotone layer at α = 1, the plain map z ↦ relu(Wz + Ux + b) with ρ(W) ≈ 1.48: the
    iteration diverges."""
    from deqverify.conformance.adapters.torch_maps import MonotoneSplittingMap

    return torchdeq_layer(MONOTONE_SETTINGS, name="torchdeq-layer-monotone-alpha-1", fmap=MonotoneSplittingMap(1.0),
                          weights=("fmap.A",))


def monotone_safe_layer():
    """The same monotone layer at the safe step α = m/‖I − W‖₂² (MON-WP): the splitting map
    contracts with factor ≈ 0.81, so 200 plain steps reach 1e-12, and every check passes."""
    from deqverify.conformance.adapters.torch_maps import MonotoneSplittingMap

    return torchdeq_layer(MONOTONE_SETTINGS, name="torchdeq-layer-monotone-safe", fmap=MonotoneSplittingMap("safe"),
                          weights=("fmap.A",))


def batchnorm_layer():
    """The exact configuration on a block with batch normalisation of its input branch
    (``torch_maps.BatchNormMap``), declared batch-coupled: a sample's fixed point depends on its
    batch, and the battery holds the layer to the batch it was given."""
    from deqverify.conformance.adapters.torch_maps import BatchNormMap

    return torchdeq_layer(EXACT, name="torchdeq-layer-batchnorm", fmap=BatchNormMap(), weights=("fmap.W.weight",),
                          coupled="BatchNorm1d normalises the input branch with the batch's statistics")


def batchnorm_undeclared_layer():
    """The same block declared batch-independent (what a user who forgot BatchNorm would
    declare): ``layer-batch-independence`` must fail it."""
    from deqverify.conformance.adapters.torch_maps import BatchNormMap

    return torchdeq_layer(EXACT, name="torchdeq-layer-batchnorm-undeclared", fmap=BatchNormMap(),
                          weights=("fmap.W.weight",))


def declared_ift_layer():
    """torchdeq's default backward declared as IFT: the battery must fail it."""
    return torchdeq_layer(declare="ift", name="torchdeq-layer-declared-ift")


def misspelled_layer():
    """The exact configuration with ``stop_mode='rel'`` (torchdeq reads ``f_stop_mode``)."""
    return torchdeq_layer({**EXACT, "stop_mode": "rel"}, name="torchdeq-layer-misspelled")


