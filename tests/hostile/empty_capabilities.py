"""Declares no activations: must be refused, not pass by testing nothing."""
from deqverify.conformance.adapters.builtin import BuiltinImplementation
from deqverify.conformance.protocol import Capabilities


class Impl(BuiltinImplementation):
    capabilities = Capabilities(activations=())
