"""A user's own module in the working directory (found as `deqverify check mymod:MyDEQ`)."""
from deqverify.conformance.adapters.builtin import BuiltinImplementation


class MyDEQ(BuiltinImplementation):
    name = "mymod"
