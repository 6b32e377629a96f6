"""torchdeq (PyTorch) behind the protocol: ``torchdeq`` (library defaults) and
``torchdeq-exact`` (tight tolerances, Anderson forward, implicit differentiation).

Requires the ``torch`` extra: ``pip install 'deqverify[torch]'`` (torch==2.13.0, CPU).
The DEQ function is f(z) = σ(Xθ₁ + θ₂z) on a batch z of shape (n, 1); gradients of
mean((z* − t)²) come from torchdeq's own backward pass.
"""

from __future__ import annotations

import numpy as np

from deqverify.conformance.protocol import Capabilities

ACTIVATIONS = ("sigmoid", "tanh", "softplus", "identity")


class TorchDEQImplementation:
    capabilities = Capabilities(activations=ACTIVATIONS, dtypes=("float64", "float32"),
                                reports_status=True, vector=True,
                                vector_activations=("tanh", "sigmoid", "softplus", "relu", "identity"))

    def __init__(self, exact: bool = False):
        import torch
        from torchdeq import get_deq

        self.torch = torch
        self.name = "torchdeq-exact" if exact else "torchdeq"
        if exact:
            self.settings = dict(f_solver="anderson", f_max_iter=500, f_tol=1e-12, ift=True,
                                 b_solver="anderson", b_max_iter=500, b_tol=1e-12)
        else:
            self.settings = {}  # defaults: fixed-point iteration, 40 steps, tol 1e-3, 1-step phantom grad
        self.get_deq = get_deq

    def _sigma(self, activation):
        torch = self.torch
        return {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
                "softplus": torch.nn.functional.softplus, "identity": lambda u: u}[activation]

    def _solve(self, theta, X, activation, dtype):
        torch = self.torch
        deq = self.get_deq(**self.settings)
        deq.train()
        t = torch.tensor(np.asarray(theta), dtype=dtype, requires_grad=True)
        x = torch.tensor(np.asarray(X), dtype=dtype)
        sigma = self._sigma(activation)
        offsets = x @ t[:-1]

        def f(z):
            return sigma(offsets[:, None] + t[-1] * z)

        z0 = torch.zeros((x.shape[0], 1), dtype=dtype)
        z_out, info = deq(f, z0)
        return t, z_out[-1][:, 0], info

    def fixed_point_status(self, theta, X, activation):
        dtype = self.torch.float32 if np.asarray(X).dtype == np.float32 else self.torch.float64
        _, z, info = self._solve(theta, X, activation, dtype)
        tolerance = self.settings.get("f_tol", 1e-3)
        converged = bool(float(info["abs_lowest"].max()) <= tolerance)
        return z.detach().numpy().astype(np.float64), converged

    def fixed_point(self, theta, X, activation):
        return self.fixed_point_status(theta, X, activation)[0]

    def risk_gradient(self, theta, X, targets, activation):
        torch = self.torch
        t, z, _ = self._solve(theta, X, activation, torch.float64)
        loss = torch.mean((z - torch.tensor(np.asarray(targets), dtype=torch.float64)) ** 2)
        (gradient,) = torch.autograd.grad(loss, t)
        return gradient.numpy()

    # -- vector protocol: f(z) = σ(zWᵀ + XUᵀ + b) on a batch z of shape (n, k) ------------
    def _solve_vector(self, params, X, activation):
        torch = self.torch
        deq = self.get_deq(**self.settings)
        deq.train()
        tensors = {name: torch.tensor(np.asarray(params[name]), dtype=torch.float64, requires_grad=True)
                   for name in ("W", "U", "b", "v")}
        x = torch.tensor(np.asarray(X), dtype=torch.float64)
        sigma = self._sigma(activation)
        offsets = x @ tensors["U"].T + tensors["b"]

        def f(z):
            return sigma(z @ tensors["W"].T + offsets)

        z_out, info = deq(f, torch.zeros((x.shape[0], tensors["W"].shape[0]), dtype=torch.float64))
        return tensors, z_out[-1], info

    def fixed_point_vector_status(self, params, X, activation):
        _, z, info = self._solve_vector(params, X, activation)
        converged = bool(float(info["abs_lowest"].max()) <= self.settings.get("f_tol", 1e-3))
        return z.detach().numpy(), converged

    def fixed_point_vector(self, params, X, activation):
        return self.fixed_point_vector_status(params, X, activation)[0]

    def risk_gradient_vector(self, params, X, targets, activation):
        torch = self.torch
        tensors, z, _ = self._solve_vector(params, X, activation)
        loss = torch.mean((z @ tensors["v"] - torch.tensor(np.asarray(targets), dtype=torch.float64)) ** 2)
        names = ("W", "U", "b", "v")
        grads = torch.autograd.grad(loss, [tensors[name] for name in names])
        return {name: g.numpy() for name, g in zip(names, grads)}


def implementation():
    return TorchDEQImplementation(exact=False)


def exact_implementation():
    return TorchDEQImplementation(exact=True)
