"""Resolve an implementation name: a built-in adapter or ``package.module:object``.

The working directory is importable, as with ``python -m`` and pytest, so
``deqverify check mymod:MyDEQ`` finds ``./mymod.py``.
"""

from __future__ import annotations

import importlib
import os
import sys

from deqverify.core.errors import DEQError

ADAPTERS = {
    "builtin": ("deqverify.conformance.adapters.builtin", "implementation", None),
    "torchdeq": ("deqverify.conformance.adapters.torchdeq", "implementation", "torch"),
    "torchdeq-exact": ("deqverify.conformance.adapters.torchdeq", "exact_implementation", "torch"),
    "jaxopt": ("deqverify.conformance.adapters.jaxopt", "implementation", "jax"),
    "optimistix": ("deqverify.conformance.adapters.optimistix", "implementation", "jax"),
    "torchdeq-layer": ("deqverify.conformance.adapters.torchdeq_layer", "default_layer", "torch"),
    "torchdeq-layer-ift": ("deqverify.conformance.adapters.torchdeq_layer", "exact_layer", "torch"),
    "torchdeq-layer-phantom": ("deqverify.conformance.adapters.torchdeq_layer", "phantom_layer", "torch"),
    "torchdeq-layer-broyden": ("deqverify.conformance.adapters.torchdeq_layer", "broyden_layer", "torch"),
    "torchdeq-layer-sliced": ("deqverify.conformance.adapters.torchdeq_layer", "sliced_layer", "torch"),
    "torchdeq-layer-states": ("deqverify.conformance.adapters.torchdeq_layer", "states_layer", "torch"),
    "torchdeq-layer-conv": ("deqverify.conformance.adapters.torchdeq_layer", "conv_layer", "torch"),
    "torchdeq-layer-monotone-alpha-1": ("deqverify.conformance.adapters.torchdeq_layer", "monotone_alpha_one_layer", "torch"),
    "torchdeq-layer-monotone-safe": ("deqverify.conformance.adapters.torchdeq_layer", "monotone_safe_layer", "torch"),
    "torchdeq-layer-batchnorm": ("deqverify.conformance.adapters.torchdeq_layer", "batchnorm_layer", "torch"),
    "torchdeq-layer-batchnorm-undeclared": ("deqverify.conformance.adapters.torchdeq_layer",
                                            "batchnorm_undeclared_layer", "torch"),
    "torchdeq-layer-declared-ift": ("deqverify.conformance.adapters.torchdeq_layer", "declared_ift_layer", "torch"),
    "torchdeq-layer-misspelled": ("deqverify.conformance.adapters.torchdeq_layer", "misspelled_layer", "torch"),
    "deepinv-layer": ("deqverify.conformance.adapters.deepinv_layer", "default_layer", "deepinv"),
    "deepinv-layer-tight": ("deqverify.conformance.adapters.deepinv_layer", "tight_layer", "deepinv"),
    "deepinv-layer-jfb": ("deqverify.conformance.adapters.deepinv_layer", "jacobian_free_layer", "deepinv"),
    "deepinv-layer-builder": ("deqverify.conformance.adapters.deepinv_layer", "builder_layer", "deepinv"),
    "jaxopt-layer": ("deqverify.conformance.adapters.jax_layers", "jaxopt_layer", "jax"),
    "jaxopt-layer-tight": ("deqverify.conformance.adapters.jax_layers", "jaxopt_tight_layer", "jax"),
    "jaxopt-layer-exact": ("deqverify.conformance.adapters.jax_layers", "jaxopt_exact_layer", "jax"),
    "optimistix-layer": ("deqverify.conformance.adapters.jax_layers", "optimistix_layer", "jax"),
    "optimistix-layer-per-sample": ("deqverify.conformance.adapters.jax_layers", "optimistix_per_sample_layer",
                                    "jax"),
    "jaxopt-layer-monotone-safe": ("deqverify.conformance.adapters.jax_layers", "jaxopt_monotone_safe_layer", "jax"),
    "optimistix-layer-monotone-safe": ("deqverify.conformance.adapters.jax_layers", "optimistix_monotone_safe_layer",
                                       "jax"),
    "jaxopt-layer-conv": ("deqverify.conformance.adapters.jax_layers", "jaxopt_conv_layer", "jax"),
    "optimistix-layer-conv": ("deqverify.conformance.adapters.jax_layers", "optimistix_conv_layer", "jax"),
}
"""name → (module, factory, the extra that installs its library)."""


class LoadError(DEQError):
    """The implementation could not be imported or constructed (a usage error, exit 2)."""


def _import(module: str, extra: str | None = None):
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        hint = (f"; install it with pip install 'deqverify[{extra}]'" if extra else
                "; is it installed, or in the working directory?")
        raise LoadError(f"cannot import {error.name!r} (needed by {module!r}){hint}") from None


def load_implementation(spec):
    """An implementation object from a name (see :data:`ADAPTERS`), ``module:object`` (the
    object, or the result of calling it if it is a class or factory), or an object.

    Raises :class:`LoadError` for an unknown name, a missing module or attribute; any
    exception the implementation raises while being imported or built propagates.
    """
    if not isinstance(spec, str):
        return spec
    if spec in ADAPTERS:
        module, attribute, extra = ADAPTERS[spec]
        return getattr(_import(module, extra), attribute)()
    if ":" not in spec:
        raise LoadError(f"unknown implementation {spec!r}: use one of {sorted(ADAPTERS)} or "
                        "'package.module:object'")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    module, attribute = spec.split(":", 1)
    target = _import(module)
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise LoadError(f"{module!r} has no attribute {attribute!r}")
        target = getattr(target, part)
    if isinstance(target, type) or (callable(target) and not hasattr(target, "fixed_point")
                                    and not hasattr(target, "declares")):
        target = target()
    return target
