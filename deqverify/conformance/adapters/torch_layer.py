"""Any PyTorch DEQ layer behind the layer protocol (:mod:`..layer_protocol`).

Requires the ``torch`` extra (``pip install 'deqverify[torch]'``, torch==2.13.0 CPU)::

    from deqverify.conformance.adapters.torch_layer import TorchLayer
    layer = TorchLayer(module, lambda m, z, x: m.f(z, x), declares=LayerDeclaration(...),
                       input_shape=(d,), state_shape=(k,))

``module`` is the user's layer (an ``nn.Module``, float64): ``module(x)`` returns z* of shape
(n, *state_shape) with whatever solver and backward it ships; ``f(module, z, x)`` is its map
at the module's current parameters. The adapter gives the checker

* ``f``, ``jvp_f``, ``vjp_f`` (``torch.func.jvp`` / ``torch.func.vjp`` of ``f`` in z) and
  ``vjp_f_params`` (``torch.autograd.grad`` of Σ u·f in the module's parameters) — autograd,
  trusted as f is;
* ``solve(x)`` = ``module(x)`` under ``torch.no_grad()`` (``status(module, x) -> (z,
  converged)``, if given, becomes ``solve_status``);
* ``backward(x, g)``: ``module(x)`` with the graph, then ``(z·g).sum().backward()`` — the
  training step the user runs; a parameter with no gradient (a detached output) raises;
* ``parameters()`` / ``with_parameters`` on ``module.named_parameters()`` (a deep copy);
* ``settings()`` / ``with_settings(**changes)`` when ``rebuild(module, settings) -> module``
  is given (a new module with those solver settings and the same parameters);
* float32: if declared, a float32 copy of the module runs float32 inputs.
"""

from __future__ import annotations

import copy

import numpy as np

from deqverify.conformance.layer_protocol import LayerDeclaration


class TorchLayer:
    def __init__(self, module, f, *, declares: LayerDeclaration, input_shape, state_shape,
                 status=None, settings: dict | None = None, rebuild=None, name: str | None = None):
        import torch

        self.torch = torch
        self.module = module.double()
        self.map, self.status, self.rebuild = f, status, rebuild
        self.declares = declares
        self.input_shape, self.state_shape = tuple(input_shape), tuple(state_shape)
        self._settings = dict(settings or {})
        self.name = name or type(module).__name__
        self._float32 = None
        if status is not None:
            self.solve_status = self._solve_status
        if rebuild is not None:  # settings exist for the checker only if they can be changed
            self.settings, self.with_settings = self._current_settings, self._with_settings

    # ---- conversions ----------------------------------------------------------------------
    def _tensor(self, array, dtype=None):
        array = np.asarray(array)
        dtype = dtype or (self.torch.float32 if array.dtype == np.float32 else self.torch.float64)
        return self.torch.tensor(array, dtype=dtype)

    @staticmethod
    def _numpy(tensor):
        return tensor.detach().cpu().numpy()

    def _module_for(self, x):
        if np.asarray(x).dtype != np.float32:
            return self.module
        if self._float32 is None:
            self._float32 = copy.deepcopy(self.module).float()
        return self._float32

    # ---- the model (autograd: trusted) ----------------------------------------------------------
    def f(self, z, x):
        with self.torch.no_grad():
            return self._numpy(self.map(self.module, self._tensor(z, self.torch.float64),
                                        self._tensor(x, self.torch.float64)))

    def jvp_f(self, z, x, v):
        torch = self.torch
        xt = self._tensor(x, torch.float64)
        _, out = torch.func.jvp(lambda zt: self.map(self.module, zt, xt),
                                (self._tensor(z, torch.float64),), (self._tensor(v, torch.float64),))
        return self._numpy(out)

    def vjp_f(self, z, x, u):
        torch = self.torch
        xt = self._tensor(x, torch.float64)
        _, pullback = torch.func.vjp(lambda zt: self.map(self.module, zt, xt), self._tensor(z, torch.float64))
        return self._numpy(pullback(self._tensor(u, torch.float64))[0])

    def vjp_f_params(self, z, x, u):
        torch = self.torch
        names, params = zip(*self.module.named_parameters())
        with torch.enable_grad():
            out = self.map(self.module, self._tensor(z, torch.float64), self._tensor(x, torch.float64))
            grads = torch.autograd.grad((out * self._tensor(u, torch.float64)).sum(), params, allow_unused=True)
        return {name: (np.zeros(tuple(p.shape)) if grad is None else self._numpy(grad))
                for name, p, grad in zip(names, params, grads)}

    # ---- the forward and backward under test ----------------------------------------------
    def solve(self, x):
        with self.torch.no_grad():
            return self._numpy(self._module_for(x)(self._tensor(x)))

    def _solve_status(self, x):
        with self.torch.no_grad():
            z, converged = self.status(self._module_for(x), self._tensor(x))
        return self._numpy(z), np.asarray(converged.detach().cpu().numpy() if hasattr(converged, "detach")
                                          else converged)

    def backward(self, x, g):
        torch = self.torch
        self.module.zero_grad(set_to_none=True)
        with torch.enable_grad():
            z = self.module(self._tensor(x, torch.float64))
            if not z.requires_grad:
                raise RuntimeError("the layer's output does not depend on its parameters in the "
                                   "graph (detached): no gradient can reach them")
            (z * self._tensor(g, torch.float64)).sum().backward()
        missing = [name for name, p in self.module.named_parameters() if p.grad is None]
        if missing:
            raise RuntimeError(f"backward produced no gradient for {missing}")
        grads = {name: self._numpy(p.grad).copy() for name, p in self.module.named_parameters()}
        self.module.zero_grad(set_to_none=True)
        return grads

    # ---- parameters and settings ----------------------------------------------------------
    def parameters(self):
        return {name: self._numpy(p).copy() for name, p in self.module.named_parameters()}

    def _copy(self, module, settings):
        return TorchLayer(module, self.map, declares=self.declares, input_shape=self.input_shape,
                          state_shape=self.state_shape, status=self.status, settings=settings,
                          rebuild=self.rebuild, name=self.name)

    def with_parameters(self, params):
        module = copy.deepcopy(self.module)
        with self.torch.no_grad():
            for name, p in module.named_parameters():
                p.copy_(self._tensor(params[name], p.dtype))
        return self._copy(module, self._settings)

    def _current_settings(self):
        return dict(self._settings)

    def _with_settings(self, **changes):
        settings = {**self._settings, **changes}
        return self._copy(self.rebuild(self.module, settings), settings)
