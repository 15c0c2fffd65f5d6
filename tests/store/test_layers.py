"""The import direction the house keeps: the ground floor imports nothing above it, the modem layer never
reaches up into the pipeline, and no package's modules import each other in a circle (an import inside a
function or under TYPE_CHECKING counts: it only hides the circle)."""

from __future__ import annotations

import ast
from pathlib import Path

import evy

PACKAGE = Path(evy.__file__).parent
GROUND_FLOOR = {"evy.messages", "evy.errors", "evy.crash", "evy.files", "evy.folding"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in PACKAGE.rglob("*.py")}


def evy_imports(path: Path, known: dict[str, Path]) -> set[str]:
    """Every evy module ``path`` imports, wherever the import statement stands."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name in known}


def package_graph(package: str) -> dict[str, set[str]]:
    known = modules()
    members = {name for name in known if name.startswith(package + ".")}
    return {name: evy_imports(known[name], known) & members for name in members}


def cycle_in(graph: dict[str, set[str]]) -> list[str] | None:
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> list[str] | None:
        if name in visiting:
            return [*visiting[visiting.index(name):], name]
        if name in done:
            return None
        visiting.append(name)
        for target in sorted(graph[name]):
            if found := visit(target):
                return found
        visiting.pop()
        done.add(name)
        return None

    for name in sorted(graph):
        if found := visit(name):
            return found
    return None


def test_the_ground_floor_imports_nothing_above_it():
    known = modules()
    for name in sorted(GROUND_FLOOR):
        above = evy_imports(known[name], known) - GROUND_FLOOR
        assert not above, f"{name} imports {sorted(above)}"


def test_the_modem_layer_never_imports_the_pipeline():
    known = modules()
    upward = {name: sorted(imported) for name, path in known.items() if name.startswith("evy.sms.")
              if (imported := {i for i in evy_imports(path, known) if i.startswith("evy.pipeline")})}
    assert upward == {}


def test_the_power_modules_import_each_other_in_no_circle():
    graph = package_graph("evy.power")
    assert "evy.power.policy" in graph and graph["evy.power.resources"]
    assert cycle_in(graph) is None


def test_the_circle_finder_finds_a_circle():
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": set()}) is None
