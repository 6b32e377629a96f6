"""A user's own PyTorch DEQ layer, checked by deqverify (docs/conformance.md):

    deqverify check examples.torch_user_deq:implementation     # from the repository root

z = σ(Wz + Ux + b) by fixed-point iteration without a graph, then one step with the graph and
a backward hook that solves the implicit-function-theorem adjoint g = grad + (∂f/∂z)ᵀg.
"""

import torch
from torch import nn

from deqverify.conformance.adapters.torch_module import TorchModuleImplementation

SIGMA = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "softplus": nn.functional.softplus,
         "identity": lambda u: u}


class DEQLayer(nn.Module):
    def __init__(self, W, U, b, v, activation, tol=1e-12, max_iter=5000):
        super().__init__()
        self.W, self.U, self.b, self.v = (nn.Parameter(p.clone()) for p in (W, U, b, v))
        self.sigma, self.tol, self.max_iter = SIGMA[activation], tol, max_iter

    def f(self, z, x):
        return self.sigma(z @ self.W.T + x @ self.U.T + self.b)

    def forward(self, x):
        with torch.no_grad():
            z = torch.zeros(x.shape[0], self.W.shape[0], dtype=x.dtype)
            for _ in range(self.max_iter):
                z, previous = self.f(z, x), z
                if (z - previous).abs().max() <= self.tol:
                    break
        z = self.f(z, x)
        if z.requires_grad:
            z0 = z.detach().requires_grad_()
            f0 = self.f(z0, x)

            def adjoint(grad):
                g = grad
                for _ in range(self.max_iter):
                    g, previous = torch.autograd.grad(f0, z0, g, retain_graph=True)[0] + grad, g
                    if (g - previous).abs().max() <= self.tol:
                        break
                return g

            z.register_hook(adjoint)
        return z @ self.v


def factory(W, U, b, v, activation):
    layer = DEQLayer(W, U, b, v, activation)
    return layer, {"W": layer.W, "U": layer.U, "b": layer.b, "v": layer.v}


implementation = TorchModuleImplementation(factory, name="user-deq-example")
