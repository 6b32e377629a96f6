"""A PyTorch DEQ layer checked by the layer battery (``tox -e torch`` runs it):

    deqverify check examples.torch_mlp_layer:layer        # from the repository root

The tutorial pattern, written so that it passes: Anderson acceleration without a graph (capped,
stopped per sample, with a per-sample status), one step of f with the graph, and a backward
hook that solves the implicit-function-theorem adjoint u = g + (∂f/∂z)ᵀu by iteration.
The map is a 3-layer MLP: f(z, x) = tanh(W₃ tanh(W₂ tanh(W₁z + Ux + b₁) + b₂) + b₃).
"""

import copy

import torch
from torch import nn

from deqverify.conformance.adapters.torch_layer import TorchLayer
from deqverify.conformance.adapters.torch_maps import MLPTanhMap
from deqverify.conformance.layer_protocol import LayerDeclaration



def anderson(f, z0, tol, max_iter, memory=5, regulariser=1e-10):
    """Anderson acceleration, batched; returns (z, per-sample relative residual)."""
    n, k = z0.shape
    regulariser = max(regulariser, 1e3 * torch.finfo(z0.dtype).eps)  # float32: 1.2e-4
    X = torch.zeros(n, memory, k, dtype=z0.dtype)
    F = torch.zeros(n, memory, k, dtype=z0.dtype)
    X[:, 0], F[:, 0] = z0, f(z0)
    X[:, 1], F[:, 1] = F[:, 0], f(F[:, 0])
    H = torch.zeros(n, memory + 1, memory + 1, dtype=z0.dtype)
    H[:, 0, 1:] = H[:, 1:, 0] = 1
    y = torch.zeros(n, memory + 1, 1, dtype=z0.dtype)
    y[:, 0] = 1
    latest = 1
    for step in range(2, max_iter):
        p = min(step, memory)
        G = F[:, :p] - X[:, :p]
        H[:, 1:p + 1, 1:p + 1] = G @ G.transpose(1, 2) + regulariser * torch.eye(p, dtype=z0.dtype)
        alpha = torch.linalg.solve(H[:, :p + 1, :p + 1], y[:, :p + 1])[:, 1:p + 1, 0]
        latest = step % memory
        X[:, latest] = (alpha[:, None] @ F[:, :p])[:, 0]
        F[:, latest] = f(X[:, latest])
        residual = (F[:, latest] - X[:, latest]).norm(dim=1) / F[:, latest].norm(dim=1).clamp(min=1)
        if bool((residual <= tol).all()):
            break
    z = X[:, latest]
    return z, (f(z) - z).norm(dim=1) / z.norm(dim=1).clamp(min=1)


class DEQ(nn.Module):
    def __init__(self, fmap, tol=1e-12, b_tol=1e-12, max_iter=200):
        super().__init__()
        self.fmap, self.tol, self.b_tol, self.max_iter = fmap, tol, b_tol, max_iter

    def solve(self, x):
        """(z*, converged per sample), no graph."""
        tol = max(self.tol, 8 * torch.finfo(x.dtype).eps)  # what this dtype can reach
        with torch.no_grad():
            z0 = torch.zeros(x.shape[0], *self.fmap.state_shape, dtype=x.dtype)
            z, residual = anderson(lambda z: self.fmap(z, x), z0, tol, self.max_iter)
        return z, residual <= 2 * tol

    def forward(self, x):
        z, _ = self.solve(x)
        z = self.fmap(z, x)  # one step with the graph: ∂f/∂θ at z*
        if z.requires_grad:
            z0 = z.detach().requires_grad_()
            f0 = self.fmap(z0, x)

            def adjoint(grad):
                u = grad
                for _ in range(self.max_iter):
                    u, previous = torch.autograd.grad(f0, z0, u, retain_graph=True)[0] + grad, u
                    if (u - previous).norm() <= self.b_tol * grad.norm():
                        break
                return u

            z.register_hook(adjoint)
        return z


def rebuild(module, settings):
    return DEQ(copy.deepcopy(module.fmap), **settings)


def layer():
    deq = DEQ(MLPTanhMap())
    return TorchLayer(deq, lambda module, z, x: module.fmap(z, x),
                      declares=LayerDeclaration(backward="ift", dtypes=("float64", "float32"),
                                                weights=("fmap.W1.weight",), forward_tolerance="tol",
                                                iteration_cap="max_iter"),
                      input_shape=deq.fmap.input_shape, state_shape=deq.fmap.state_shape, status=lambda m, x: m.solve(x),
                      settings={"tol": deq.tol, "b_tol": deq.b_tol, "max_iter": deq.max_iter},
                      rebuild=rebuild, name="torch-mlp-layer")
