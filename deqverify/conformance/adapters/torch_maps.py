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


class BatchNormMap(nn.Module):
    """f(z, x) = tanh(Wz + BatchNorm(Ux) + b): the input branch is normalised with the *batch's*
    statistics (training mode, no running statistics), so a sample's fixed point depends on the
    other samples of its batch — batch-coupled, to be declared so. ‖W‖₂ = ``contraction``."""

    def __init__(self, state=4, inputs=8, contraction=0.6, seed=0):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.W = nn.Linear(state, state, dtype=torch.float64)
        self.U = nn.Linear(inputs, state, bias=False, dtype=torch.float64)
        self.norm = nn.BatchNorm1d(state, track_running_stats=False, dtype=torch.float64)
        with torch.no_grad():
            weight = torch.randn(self.W.weight.shape, generator=generator, dtype=torch.float64)
            self.W.weight.copy_(contraction * weight / torch.linalg.matrix_norm(weight, 2))
            self.W.bias.copy_(0.1 * torch.randn(state, generator=generator, dtype=torch.float64))
            self.U.weight.copy_(torch.randn(self.U.weight.shape, generator=generator, dtype=torch.float64)
                                / inputs ** 0.5)
        self.state_shape, self.input_shape = (state,), (inputs,)

    def forward(self, z, x):
        return torch.tanh(self.W(z) + self.norm(self.U(x)))


class ConvGroupNormMap(nn.Module):
    """f(z, x) = tanh(K_z * z + GroupNorm(K_x * x)): the state z is a (4, 4, 4) image (channels,
    height, width), the input x a (2, 4, 4) one, K_z and K_x 3×3 convolutions with zero padding
    and biases, GroupNorm (2 groups of 2 channels, with its affine parameters) on the input
    injection. Group normalisation is per sample, so the batch stays independent. The operator
    norm of K_z on 4×4 images is set to ``coupling`` < 1, so f is a contraction in z.

    Normalisation inside the z-loop (tanh(GroupNorm(K_z * z + K_x * x))) is not a contraction
    in general: it divides by the group's spread, and on the battery's 256 inputs ρ(∂f/∂z) at
    z* reached 1.9 even with ‖K_z‖ = 0.2 (the reference solved 229 of them)."""

    def __init__(self, channels=4, inputs=2, size=4, groups=2, coupling=0.8, seed=0):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.conv_z = nn.Conv2d(channels, channels, 3, padding=1, dtype=torch.float64)
        self.conv_x = nn.Conv2d(inputs, channels, 3, padding=1, dtype=torch.float64)
        self.norm = nn.GroupNorm(groups, channels, dtype=torch.float64)
        with torch.no_grad():
            for conv in (self.conv_z, self.conv_x):
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator, dtype=torch.float64)
                                  / conv.weight[0].numel() ** 0.5)
                conv.bias.copy_(0.1 * torch.randn(conv.bias.shape, generator=generator, dtype=torch.float64))
            basis = torch.eye(channels * size * size, dtype=torch.float64).reshape(-1, channels, size, size)
            operator = (self.conv_z(basis) - self.conv_z.bias[:, None, None]).reshape(len(basis), -1)
            self.conv_z.weight.mul_(coupling / torch.linalg.matrix_norm(operator, 2))
        self.state_shape, self.input_shape = (channels, size, size), (inputs, size, size)

    def forward(self, z, x):
        return torch.tanh(self.conv_z(z) + self.norm(self.conv_x(x)))


class MonotoneSplittingMap(nn.Module):
    """The monotone-operator layer z = relu(Wz + Ux + b), W = (1 − m)I − AᵀA + B − Bᵀ (A, B, U,
    b the raw parameters), as the map forward–backward splitting iterates:
    f(z, x) = relu((1 − α)z + α(Wz + Ux + b)), with the same fixed points for every α > 0.
    Any α < 2m/‖I − W‖₂² makes it a contraction (MON-WP); ``alpha="safe"`` takes m/‖I − W‖₂²,
    where the factor is √(1 − m²/‖I − W‖₂²). α = 1 is the plain map, which diverges for both
    parameterisations here: the default (m = 1.5, ‖A‖ and ‖B‖ scales 0.6 and 0.2: ρ(W) ≈ 1.48,
    safe factor ≈ 0.81) and the first one run (m = 0.5, both scales 0.6: ‖W‖₂ ≈ 1.7, safe
    factor ≈ 0.97 — 1000 Anderson steps to 1e-12, an 11-minute battery)."""

    def __init__(self, alpha, state=16, inputs=8, m=1.5, a_scale=0.6, b_scale=0.2, seed=0):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        draw = lambda *shape: torch.randn(*shape, generator=generator, dtype=torch.float64)
        self.A = nn.Parameter(a_scale * draw(state, state) / state ** 0.5)
        self.B = nn.Parameter(b_scale * draw(state, state) / state ** 0.5)
        self.U = nn.Parameter(draw(state, inputs) / inputs ** 0.5)
        self.b = nn.Parameter(0.1 * draw(state))
        self.m = m
        with torch.no_grad():
            gap = torch.linalg.matrix_norm(torch.eye(state, dtype=torch.float64) - self.W(), ord=2).item()
        self.alpha = m / gap ** 2 if alpha == "safe" else float(alpha)
        self.state_shape, self.input_shape = (state,), (inputs,)

    def W(self):
        eye = torch.eye(self.A.shape[0], dtype=self.A.dtype)
        return (1 - self.m) * eye - self.A.T @ self.A + self.B - self.B.T

    def forward(self, z, x):
        return torch.relu((1 - self.alpha) * z + self.alpha * (z @ self.W().T + x @ self.U.T + self.b))
