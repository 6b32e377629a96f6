"""The conformance battery: stable check ids, each citing the statement it tests.

``protocol`` runs first; when it fails every other check is reported as skipped. Scoring
rules and references: :mod:`.base`.
"""

from .accuracy import ForwardAccuracy, GDRadius, GradientIFT, HonestStatus, LinOrth
from .base import Check, CheckResult
from .batches import GradientBatchScaling, Isolation
from .flags import GradientNonContractive, IllPosed, MultiRoot, NonContractiveUnique
from .hygiene import Determinism, Float32, NoMutation, Protocol
from .resources import Resources

CHECKS: dict[str, Check] = {check.id: check for check in (
    Protocol(), NoMutation(), ForwardAccuracy(), HonestStatus(), GradientIFT(), LinOrth(),
    GDRadius(), IllPosed(), NonContractiveUnique(), GradientNonContractive(), MultiRoot(),
    Isolation(), GradientBatchScaling(), Determinism(), Float32(), Resources())}

__all__ = ["CHECKS", "Check", "CheckResult"]
