"""Model maps f(z, x) in PyTorch for the layer adapters and examples (float64)."""

from __future__ import annotations

import torch
from torch import nn


class MLPTanhMap(nn.Module):
    """f(z, x) = tanh(W₃ tanh(W₂ tanh(W₁z + Ux + b₁) + b₂) + b₃), with ∏‖Wᵢ‖₂ = ``contraction``
    (so f is a contraction in z when it is < 1, and ρ(∂f/∂z) at z* is below it in general)."""

    def __init__(self, state=16, inputs=8, hidden=32, contraction=0.6, seed=0):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.W1 = nn.Linear(state, hidden, dtype=torch.float64)
        self.U = nn.Linear(inputs, hidden, bias=False, dtype=torch.float64)
        self.W2 = nn.Linear(hidden, hidden, dtype=torch.float64)
        self.W3 = nn.Linear(hidden, state, dtype=torch.float64)
        with torch.no_grad():
            for layer in (self.W1, self.W2, self.W3):
                weight = torch.randn(layer.weight.shape, generator=generator, dtype=torch.float64)
                layer.weight.copy_(weight * contraction ** (1 / 3) / torch.linalg.matrix_norm(weight, 2))
                layer.bias.copy_(0.1 * torch.randn(layer.bias.shape, generator=generator, dtype=torch.float64))
            self.U.weight.copy_(torch.randn(self.U.weight.shape, generator=generator, dtype=torch.float64)
                                / inputs ** 0.5)
        self.state_shape, self.input_shape = (state,), (inputs,)

    def forward(self, z, x):
        hidden = torch.tanh(self.W1(z) + self.U(x))
        return torch.tanh(self.W3(torch.tanh(self.W2(hidden))))
