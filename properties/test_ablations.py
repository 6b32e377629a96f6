"""Ablations: one Hypothesis test per (theorem, dropped assumption), asserting the claim on
problems that break exactly that assumption. Most are *expected* to fail — that is what a
fuzzer is for — so they are marked ``ablation`` and the default run deselects them
(``-m "not ablation"`` in pyproject.toml). Run them with HypoFuzz (``tox -e hypofuzz``) or
``pytest properties/test_ablations.py -m ablation``; ``deqverify fuzz`` tallies the same
cells without stopping at the first failure."""

import pytest

from deqverify.theorems import REGISTRY
from deqverify.theorems.checking import theorem_property

for _theorem in REGISTRY.values():
    for _assumption in _theorem.assumptions:
        _test = pytest.mark.ablation(theorem_property(_theorem.id, _assumption))
        globals()[_test.__name__] = _test
