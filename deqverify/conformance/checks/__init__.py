"""The conformance battery: stable check ids, each citing the statement it tests.

``protocol`` runs first; when it fails every other check is reported as skipped. Scoring
rules and references: :mod:`.base`.
"""

from deqverify.conformance.checks.accuracy import (
    ForwardAccuracy,
    GDRadius,
    GradientIFT,
    HonestStatus,
    LinOrth,
)
from deqverify.conformance.checks.base import Check, CheckResult
from deqverify.conformance.checks.batches import GradientBatchScaling, Isolation
from deqverify.conformance.checks.flags import (
    GradientNonContractive,
    IllPosed,
    MultiRoot,
    NonContractiveUnique,
)
from deqverify.conformance.checks.hygiene import (
    Determinism,
    Float32,
    NoMutation,
    Protocol,
)
from deqverify.conformance.checks.layer_backward import (
    LayerBackward,
    LayerGradientExists,
    LayerGradientRaw,
    LayerMapDerivatives,
    LayerToleranceCoupling,
)
from deqverify.conformance.checks.layer_forward import (
    LayerBatchIndependence,
    LayerDeterminism,
    LayerFloat32,
    LayerForwardAccuracy,
    LayerForwardResidual,
    LayerInstances,
    LayerNaN,
    LayerSettings,
)
from deqverify.conformance.checks.layer_stress import LayerInstability, LayerResources
from deqverify.conformance.checks.resources import Resources
from deqverify.conformance.checks.vector import VECTOR_CHECKS

CHECKS: dict[str, Check] = {check.id: check for check in (
    Protocol(), NoMutation(), ForwardAccuracy(), HonestStatus(), GradientIFT(), LinOrth(),
    GDRadius(), IllPosed(), NonContractiveUnique(), GradientNonContractive(), MultiRoot(),
    Isolation(), GradientBatchScaling(), Determinism(), Float32(), Resources(), *VECTOR_CHECKS,
    LayerGradientExists(), LayerForwardResidual(), LayerForwardAccuracy(), LayerBackward(),
    LayerGradientRaw(), LayerMapDerivatives(), LayerToleranceCoupling(), LayerNaN(),
    LayerFloat32(), LayerBatchIndependence(), LayerDeterminism(), LayerInstances(),
    LayerInstability(), LayerResources(), LayerSettings())}

__all__ = ["CHECKS", "Check", "CheckResult"]
