"""A user's own PyTorch DEQ layer behind the protocol (vector and scalar).

The user supplies ``factory(W, U, b, v, activation) -> (module, parameters)``: ``module(X)``
returns ŷ of shape (n,) for z = σ(Wz + Ux + b), ŷ = vᵀz, and ``parameters`` is the dict
{"W", "U", "b", "v"} of the tensors ŷ depends on (the layer's own ``nn.Parameter``s), so
gradients come from the layer's own backward pass (autograd, whatever it implements):

    from deqverify.conformance.adapters.torch_module import TorchModuleImplementation
    impl = TorchModuleImplementation(my_factory, name="my-deq")   # deqverify check mymod:impl

The battery reads z itself through the readout: with v = eⱼ the output is zⱼ, so Z is k
forward passes. The scalar protocol is the k = 1 layer (W = [[θ₂]], U = θ₁ᵀ, b = 0, v = 1:
VEC-REDUCE), so the layer also meets the whole scalar battery.

Requires the ``torch`` extra (torch==2.13.0, CPU).
"""

from __future__ import annotations

import numpy as np

from deqverify.conformance.protocol import Capabilities

ACTIVATIONS = ("tanh", "sigmoid", "softplus", "identity")


class TorchModuleImplementation:
    """The protocol on top of ``factory`` (see the module docstring)."""

    def __init__(self, factory, name: str = "torch-module", activations=ACTIVATIONS):
        import torch

        self.torch = torch
        self.factory = factory
        self.name = name
        self.capabilities = Capabilities(activations=tuple(a for a in activations if a != "relu"),
                                         vector=True, vector_activations=tuple(activations))

    def _tensor(self, array, grad=False):
        return self.torch.tensor(np.asarray(array, dtype=np.float64), dtype=self.torch.float64,
                                 requires_grad=grad)

    def _output(self, W, U, b, v, X, activation):
        module, parameters = self.factory(*(self._tensor(a) for a in (W, U, b, v)), activation)
        return module(self._tensor(X)), parameters

    # -- vector protocol ------------------------------------------------------------------
    def fixed_point_vector(self, params, X, activation):
        k = np.shape(params["W"])[0]
        columns = []
        with self.torch.no_grad():
            for j in range(k):
                y, _ = self._output(params["W"], params["U"], params["b"], np.eye(k)[j], X, activation)
                columns.append(y.detach().numpy().reshape(-1))
        return np.stack(columns, axis=1)

    def risk_gradient_vector(self, params, X, targets, activation):
        y, parameters = self._output(params["W"], params["U"], params["b"], params["v"], X, activation)
        risk = ((y.reshape(-1) - self._tensor(targets)) ** 2).mean()
        names = ("W", "U", "b", "v")
        grads = self.torch.autograd.grad(risk, [parameters[name] for name in names], allow_unused=True)
        return {name: (np.zeros(np.shape(params[name])) if g is None else g.detach().numpy().reshape(np.shape(params[name])))
                for name, g in zip(names, grads)}

    # -- scalar protocol: the k = 1 layer ---------------------------------------------------
    @staticmethod
    def _scalar_params(theta):
        theta = np.asarray(theta, dtype=np.float64)
        return {"W": theta[-1:][None, :], "U": theta[None, :-1], "b": np.zeros(1), "v": np.ones(1)}

    def fixed_point(self, theta, X, activation):
        return self.fixed_point_vector(self._scalar_params(theta), X, activation)[:, 0]

    def risk_gradient(self, theta, X, targets, activation):
        parts = self.risk_gradient_vector(self._scalar_params(theta), X, targets, activation)
        return np.r_[parts["U"][0], parts["W"][0, 0]]
