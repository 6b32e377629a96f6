"""What an implementation under test provides (numpy in, numpy out), and how its answers
are read.

Required::

    name: str
    capabilities: Capabilities
    fixed_point(theta, X, activation) -> y                      # (n,)
    risk_gradient(theta, X, targets, activation) -> gradient    # (d+1,), of mean((y − t)²)

Optional::

    fixed_point_status(theta, X, activation) -> (y, converged)  # converged: bool or (n,) bool

``activation`` is one of "sigmoid", "tanh", "softplus", "identity" (the linear DEQ).

A vector-only implementation declares ``Capabilities(scalar=False, vector=True, ...)``; any
DEQ layer z = f(z, x; θ) follows the layer protocol instead (:mod:`.layer_protocol`). Every
implementation declares at least one family, and every method of a declared family must exist.

Vector DEQs (declared with ``Capabilities(vector=True, vector_activations=(...))``)::

    fixed_point_vector(params, X, activation) -> Z                   # (n, k)
    risk_gradient_vector(params, X, targets, activation) -> grads    # dict W, U, b, v
    fixed_point_vector_status(params, X, activation) -> (Z, converged)   # optional

for z = σ(Wz + Ux + b), ŷ = vᵀz, R = mean((ŷ − t)²); ``params`` is a dict of float64
arrays W (k, k), U (k, d), b (k,), v (k,); ``activation`` is one of
:data:`KNOWN_VECTOR_ACTIVATIONS`. The same reading rule applies part by part.

Signals. An implementation flags an ill-posed or failed solve by raising (any exception,
from that call) or by returning NaN for the affected samples (or, with
``reports_status``, ``converged = False`` for them); returning finite numbers is a claim of
success. A flag is only credited where one is due: every check that accepts flags also poses
a well-posed twin of its problem, on which a finite, correct answer is required.

Reading answers (one rule for every check): an answer is converted with
``np.asarray(answer, dtype=float64)``, so lists, tuples, numpy arrays of any real dtype and
0-d scalars where one is due are accepted; anything that does not convert (strings, objects,
complex numbers, ragged lists) or whose shape is not exactly the one due — (n,) outputs,
(d+1,) gradients, a bool or (n,) bool ``converged`` — is a protocol violation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deqverify.conformance.layer_protocol import is_layer
from deqverify.core.errors import InvalidInputError

KNOWN_ACTIVATIONS = ("sigmoid", "tanh", "softplus", "identity")
KNOWN_VECTOR_ACTIVATIONS = ("tanh", "sigmoid", "softplus", "relu", "identity")
KNOWN_DTYPES = ("float64", "float32")


class ProtocolViolation(Exception):
    """An answer of the wrong type, dtype or shape (the ``protocol`` check's finding)."""


@dataclass(frozen=True)
class Capabilities:
    """What an implementation declares; checks skip only what is declared unsupported.

    Raises :class:`~deqverify.core.errors.InvalidInputError` for an empty or unknown activation
    or dtype list, so that a declaration can never make checks pass by testing nothing.
    """

    activations: tuple[str, ...] = KNOWN_ACTIVATIONS
    dtypes: tuple[str, ...] = ("float64",)
    reports_status: bool = False
    raises_on_nonconvergence: bool = False
    vector: bool = False
    vector_activations: tuple[str, ...] = ()
    scalar: bool = True

    def __post_init__(self):
        for field in ("reports_status", "raises_on_nonconvergence", "vector", "scalar"):
            value = getattr(self, field)
            if not isinstance(value, (bool, np.bool_)):
                raise InvalidInputError(f"Capabilities({field}={value!r}): give True or False "
                                        f"(a {type(value).__name__} is not a declaration)")
            object.__setattr__(self, field, bool(value))
        if not (self.scalar or self.vector):
            raise InvalidInputError("Capabilities(scalar=False, vector=False) declares nothing to "
                                    "check: declare a family (a layer uses LayerDeclaration)")
        vector_activations = tuple(self.vector_activations)
        if self.vector and (not vector_activations or any(
                a not in KNOWN_VECTOR_ACTIVATIONS for a in vector_activations)):
            raise InvalidInputError(
                f"Capabilities(vector=True, vector_activations={vector_activations!r}): declare "
                f"a non-empty subset of {KNOWN_VECTOR_ACTIVATIONS}")
        if vector_activations and not self.vector:
            raise InvalidInputError("Capabilities(vector_activations=...) needs vector=True")
        object.__setattr__(self, "vector_activations", vector_activations)
        for field, known in (("activations", KNOWN_ACTIVATIONS), ("dtypes", KNOWN_DTYPES)):
            value = getattr(self, field)
            if isinstance(value, str) or not isinstance(value, (tuple, list)):
                raise InvalidInputError(f"Capabilities({field}={value!r}): give a tuple of names "
                                        f"from {known}")
            value = tuple(value)
            unknown = [v for v in value if v not in known]
            if not value or unknown:
                raise InvalidInputError(
                    f"Capabilities({field}={value!r}): declare a non-empty subset of {known}"
                    + (f" (unknown: {unknown})" if unknown else ""))
            object.__setattr__(self, field, value)
        if "float64" not in self.dtypes:
            raise InvalidInputError("Capabilities(dtypes=...) must include 'float64': every "
                                    "check poses float64 problems")


FAMILY_METHODS = {"scalar": ("fixed_point", "risk_gradient"),
                  "vector": ("fixed_point_vector", "risk_gradient_vector")}


def declared_families(impl) -> set[str]:
    """The protocol families ``impl`` declares: "scalar" and/or "vector" (its
    :class:`Capabilities`), "layer" (a :class:`~.layer_protocol.LayerDeclaration`)."""
    families = {"layer"} if is_layer(impl) else set()
    capabilities = getattr(impl, "capabilities", None)
    if isinstance(capabilities, Capabilities):
        families |= {name for name in ("scalar", "vector") if getattr(capabilities, name)}
    return families


def as_answer(value, shape: tuple[int, ...], what: str) -> np.ndarray:
    """``value`` as a float64 array of exactly ``shape``, or :class:`ProtocolViolation`."""
    if isinstance(value, (str, bytes)) or value is None:
        raise ProtocolViolation(f"{what} returned {type(value).__name__}, expected a float array of shape {shape}")
    try:
        array = np.asarray(value)
    except Exception as error:  # noqa: BLE001 - ragged lists and odd objects
        raise ProtocolViolation(f"{what} returned {type(value).__name__} that numpy cannot "
                                f"read as an array ({error})") from None
    if array.dtype.kind not in "fiub":
        raise ProtocolViolation(f"{what} returned dtype {array.dtype}, expected real floats")
    if array.shape != shape:
        raise ProtocolViolation(f"{what} returned shape {array.shape}, expected {shape}")
    return array.astype(np.float64)


def as_converged(value, n: int, what: str) -> np.ndarray:
    """A ``converged`` flag (bool or (n,) bools) as an (n,) bool array."""
    array = np.asarray(value)
    if array.dtype.kind not in "biu" or array.shape not in ((), (n,)):
        raise ProtocolViolation(f"{what} returned converged of dtype {array.dtype} and shape "
                                f"{array.shape}, expected a bool or ({n},) bools")
    return np.broadcast_to(array.astype(bool), (n,)).copy()
