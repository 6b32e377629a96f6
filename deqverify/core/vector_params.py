"""Parameters of a vector DEQ z = σ(Wz + Ux + b), ŷ = vᵀz, and their flat form.

The flat vector θ concatenates W (k×k, row-major), U (k×d, row-major), b (k) and v (k), so
that risks, gradient flow, gradient descent and :class:`~deqverify.Trajectory` work on vector
models unchanged. ``A = I − W`` is the matrix of the linear vector DEQ z = A⁻¹(Ux + b).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deqverify.core.errors import InvalidInputError
from deqverify.core.validation import _as_float_array, _require_finite, as_count

PARTS = ("W", "U", "b", "v")


def parameter_count(width: int, dim: int) -> int:
    """k² + k·d + 2k: the length of the flat vector."""
    return width * width + width * dim + 2 * width


def split_flat(theta: np.ndarray, width: int, dim: int) -> dict:
    """The parts W, U, b, v of a flat vector, reshaped without validation (for gradients,
    which may hold NaN that a check must see)."""
    theta = np.asarray(theta, dtype=float)
    w_end = width * width
    u_end = w_end + width * dim
    return {"W": theta[:w_end].reshape(width, width), "U": theta[w_end:u_end].reshape(width, dim),
            "b": theta[u_end:u_end + width], "v": theta[u_end + width:]}


@dataclass(frozen=True)
class VectorParams:
    """W (k×k), U (k×d), b (k), v (k) as read-only float64 arrays, validated on construction.

    Raises :class:`~deqverify.errors.InvalidInputError` (or its NonFiniteInputError subclass)
    for a non-square W, inconsistent shapes, or a non-finite entry.
    """

    W: np.ndarray
    U: np.ndarray
    b: np.ndarray
    v: np.ndarray

    def __post_init__(self):
        arrays = {name: np.array(_as_float_array(getattr(self, name), name), dtype=np.float64)
                  for name in PARTS}
        W, U, b, v = (arrays[name] for name in PARTS)
        if W.ndim != 2 or W.shape[0] != W.shape[1] or W.shape[0] == 0:
            raise InvalidInputError(f"W must be a non-empty square (k, k) matrix, got shape "
                                    f"{W.shape}")
        k = W.shape[0]
        if U.ndim != 2 or U.shape[0] != k or U.shape[1] == 0:
            raise InvalidInputError(f"U must have shape (k, d) = ({k}, d) to match W {W.shape}, "
                                    f"got {U.shape}")
        for name, array in (("b", b), ("v", v)):
            if array.shape != (k,):
                raise InvalidInputError(f"{name} must have shape ({k},) to match W {W.shape}, "
                                        f"got {array.shape}")
        for name, array in arrays.items():
            _require_finite(array, name)
            array.flags.writeable = False
            object.__setattr__(self, name, array)

    @property
    def width(self) -> int:
        """k, the number of neurons."""
        return self.W.shape[0]

    @property
    def dim(self) -> int:
        """d, the input dimension."""
        return self.U.shape[1]

    @property
    def A(self) -> np.ndarray:
        """A = I − W."""
        return np.eye(self.width) - self.W

    @property
    def flat(self) -> np.ndarray:
        """θ = (vec W, vec U, b, v), row-major."""
        return np.concatenate([self.W.ravel(), self.U.ravel(), self.b, self.v])

    @classmethod
    def from_flat(cls, theta, width: int, dim: int) -> "VectorParams":
        """Split a flat θ of length k² + k·d + 2k back into (W, U, b, v).

        One validation of the flat vector (float64, finite, length); the parts are then
        consistent by construction, so the per-part checks are skipped (this runs once per
        gradient evaluation inside gradient flow)."""
        width, dim = as_count(width, "width", minimum=1), as_count(dim, "dim", minimum=1)
        theta = _as_float_array(theta, "theta")
        expected = parameter_count(width, dim)
        if theta.shape != (expected,):
            raise InvalidInputError(
                f"theta must be a flat vector of length k² + k·d + 2k = {expected} for width "
                f"k = {width} and dim d = {dim}, got shape {theta.shape}; build it with "
                "VectorParams(W, U, b, v).flat")
        _require_finite(theta, "theta")
        theta = theta.copy()
        theta.flags.writeable = False
        params = object.__new__(cls)
        for name, part in split_flat(theta, width, dim).items():
            object.__setattr__(params, name, part)
        return params

    @classmethod
    def from_parts(cls, **parts) -> "VectorParams":
        """Build from gradient-like parts named W, U, b, v (missing parts raise)."""
        missing = [name for name in PARTS if name not in parts]
        if missing:
            raise InvalidInputError(f"missing parts {missing}; pass W, U, b and v")
        return cls(*(parts[name] for name in PARTS))

    def with_parts(self, **parts) -> "VectorParams":
        """A copy with some parts replaced (W, U, b, v); an unknown name is an error, never ignored."""
        unknown = sorted(set(parts) - set(PARTS))
        if unknown:
            raise InvalidInputError(f"with_parts got unknown part(s) {unknown}; the parts are {list(PARTS)}")
        return VectorParams(**{name: parts.get(name, getattr(self, name)) for name in PARTS})
