"""Certified verdicts with ball arithmetic (python-flint's Arb): enclosures of fixed points
that come with a proof of existence and uniqueness, for the scalar and the vector DEQ, and of
the empirical risk and its IFT gradient (scalar and vector DEQs).

Needs the optional extra: ``pip install 'deqverify[certify]'``. Without it, importing a
function from here raises :class:`~deqverify.core.errors.MissingExtraError` with that fix.
"""

import importlib.util

from deqverify.core.errors import MissingExtraError

if importlib.util.find_spec("flint") is None:
    raise MissingExtraError(
        "deqverify.certify needs python-flint (Arb ball arithmetic): pip install 'deqverify[certify]'")

from deqverify.certify.layer import layer_fixed_point  # noqa: E402
from deqverify.certify.risk import RiskEnclosure, empirical_risk  # noqa: E402
from deqverify.certify.scalar import Enclosure, RootCount, enclose_roots, fixed_point  # noqa: E402
from deqverify.certify.vector import vector_fixed_point  # noqa: E402
from deqverify.certify.vector_risk import vector_empirical_risk  # noqa: E402

__all__ = ["Enclosure", "RiskEnclosure", "RootCount", "empirical_risk", "enclose_roots", "fixed_point",
           "layer_fixed_point", "vector_empirical_risk", "vector_fixed_point"]
