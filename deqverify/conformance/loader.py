"""Resolve an implementation name: a built-in adapter or ``package.module:object``."""

from __future__ import annotations

import importlib

from ..errors import InvalidInputError

ADAPTERS = {
    "builtin": ("deqverify.conformance.adapters.builtin", "implementation"),
    "torchdeq": ("deqverify.conformance.adapters.torchdeq", "implementation"),
    "torchdeq-exact": ("deqverify.conformance.adapters.torchdeq", "exact_implementation"),
    "jaxopt": ("deqverify.conformance.adapters.jaxopt", "implementation"),
    "optimistix": ("deqverify.conformance.adapters.optimistix", "implementation"),
}


def load_implementation(spec):
    """An implementation object from a name (see :data:`ADAPTERS`), ``module:object`` (the
    object, or the result of calling it if it is a class or factory), or an object."""
    if not isinstance(spec, str):
        return spec
    if spec in ADAPTERS:
        module, attribute = ADAPTERS[spec]
        return getattr(importlib.import_module(module), attribute)()
    if ":" not in spec:
        raise InvalidInputError(
            f"unknown implementation {spec!r}: use one of {sorted(ADAPTERS)} or "
            "'package.module:object'")
    module, attribute = spec.split(":", 1)
    target = importlib.import_module(module)
    for part in attribute.split("."):
        target = getattr(target, part)
    if isinstance(target, type) or (callable(target) and not hasattr(target, "fixed_point")):
        target = target()
    return target
