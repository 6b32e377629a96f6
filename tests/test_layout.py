"""The package's architecture (docs/architecture.md) as a test: layers and no import cycles.

Every ``import`` in the package, at any depth (a function-level import is still a dependency),
is read with :mod:`ast`; a module may import only from its own layer or the layers below, and
the module graph has no cycle.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "deqverify"

LAYERS = {
    "core": 0,          # the numerical core: models, solvers, risks, dynamics
    "fast": 0,          # compiled kernels (numba, the [fast] extra), chosen by core.compiled
    "reference": 1,     # independent references (mpmath twin, bracketed roots, quadrature)
    "certify": 1,       # ball-arithmetic certificates (python-flint, the [certify] extra)
    "theorems": 2,      # statements, strategies, checking
    "conformance": 2,   # the battery against other implementations
    "campaigns": 3,     # fuzz campaigns and their stored records
    "app": 4,           # command line, figures, generated catalogue
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every deqverify module that ``path`` imports (relative imports resolved)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {module for module in found if module.startswith("deqverify")}


MODULES = {module_name(path): path for path in PACKAGE.rglob("*.py")}
GRAPH = {name: {target for target in imported_modules(path) if target in MODULES and target != name}
         for name, path in MODULES.items()}


def layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.get(parts[1]) if len(parts) > 1 else None


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_module_imports_only_its_own_layer_or_lower(module):
    own = layer(module)
    if own is None:  # deqverify/__init__.py and __main__.py: the public face, may import anything
        return
    upward = sorted(target for target in GRAPH[module]
                    if layer(target) is not None and layer(target) > own)
    assert not upward, f"{module} (layer {own}) imports higher layers: {upward}"


def test_the_module_graph_has_no_cycle():
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module):
        state[module] = 1
        stack.append(module)
        for target in sorted(GRAPH[module]):
            if state.get(target) == 1:
                cycle = stack[stack.index(target):] + [target]
                pytest.fail("import cycle: " + " → ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[module] = 2

    # package __init__ files re-export their children; an edge child → parent package is how
    # Python resolves ``from deqverify.x import y``, not a design dependency: drop those
    for module in sorted(MODULES):
        GRAPH[module] = {t for t in GRAPH[module] if not module.startswith(t + ".")}
    for module in sorted(MODULES):
        if module not in state:
            visit(module)


def test_a_planted_cycle_is_found(monkeypatch):
    """The cycle detector itself can fail: plant a → b → a."""
    monkeypatch.setitem(GRAPH, "deqverify.core.solve",
                        GRAPH["deqverify.core.solve"] | {"deqverify.core.models"})
    with pytest.raises(pytest.fail.Exception, match="import cycle"):
        test_the_module_graph_has_no_cycle()
