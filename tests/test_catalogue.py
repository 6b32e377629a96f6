"""The catalogue users read is generated from the registry and kept current."""

import ast
from pathlib import Path

import deqverify as dv
from deqverify.app import catalogue
from deqverify.app.cli import main
from deqverify.theorems import REGISTRY

ROOT = Path(__file__).resolve().parents[1]


def test_docs_theorems_md_is_generated_from_the_registry():
    assert (ROOT / "docs" / "theorems.md").read_text() == catalogue.markdown(), (
        "docs/theorems.md is stale: run `deqverify theorems --markdown > docs/theorems.md`")


def test_every_assumption_a_theorem_names_is_explained():
    used = {name for theorem in REGISTRY.values() for name in theorem.assumptions}
    assert used == set(catalogue.ASSUMPTIONS)


def test_every_reference_property_id_names_a_property():
    source = (ROOT / "properties" / "test_reference_values.py").read_text()
    tests = {node.name for node in ast.walk(ast.parse(source)) if isinstance(node, ast.FunctionDef)}
    for ref_id in catalogue.REFERENCE_PROPERTIES:
        prefix = "test_" + ref_id.replace("-", "_") + "_"
        assert any(name.startswith(prefix) for name in tests), ref_id


def test_theorems_command_lists_every_id(capsys):
    assert main(["theorems"]) == 0
    out = capsys.readouterr().out
    assert all(theorem_id in out for theorem_id in REGISTRY)
    assert all(name in out for name in catalogue.ASSUMPTIONS)


def test_registry_is_reachable_from_the_package():
    assert dv.theorems.REGISTRY is REGISTRY
