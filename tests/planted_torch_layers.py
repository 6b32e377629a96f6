"""PyTorch layers with planted backward defects, loaded by name in a spawned worker
(``deqverify check tests.planted_torch_layers:NAME``): a forked worker could inherit torch's
thread pool mid-operation."""

from deqverify.conformance.adapters.torch_layer import TorchLayer
from deqverify.conformance.layer_protocol import LayerDeclaration
from examples.torch_mlp_layer import DEQ, layer  # noqa: F401 - ``layer`` is the correct one
from deqverify.conformance.adapters.torch_maps import MLPTanhMap


class CrashingBackwardDEQ(DEQ):
    """The forward works; the backward hook calls its solver with a renamed keyword, so the
    failure appears only when the loss is backpropagated."""

    def forward(self, x):
        z, _ = self.solve(x)
        z = self.fmap(z, x)
        if z.requires_grad:
            def solver(function, start, *, threshold):
                return start

            z.register_hook(lambda grad: solver(lambda u: u, grad, tol=self.b_tol))
        return z


class OneStepDEQ(DEQ):
    """One step of f with the graph and no adjoint: the Jacobian-free gradient."""

    def forward(self, x):
        z, _ = self.solve(x)
        return self.fmap(z, x)


def _wrap(module, backward, name):
    return TorchLayer(module, lambda m, z, x: m.fmap(z, x),
                      declares=LayerDeclaration(backward=backward, weights=("fmap.W1.weight",)),
                      input_shape=module.fmap.input_shape, state_shape=module.fmap.state_shape,
                      status=lambda m, x: m.solve(x), name=name)


def crashing_backward():
    return _wrap(CrashingBackwardDEQ(MLPTanhMap()), "ift", "torch-backward-crashes")


def jfb_declared_ift():
    return _wrap(OneStepDEQ(MLPTanhMap()), "ift", "torch-jfb-declared-ift")


def jfb_declared_jfb():
    return _wrap(OneStepDEQ(MLPTanhMap()), "jfb", "torch-jfb")
