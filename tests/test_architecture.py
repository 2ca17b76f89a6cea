"""The layers point one way and nothing imports in a circle (function-level imports included):

    casewright (CLI)  ->  workers  ->  agent  ->  connectors        (connectors.settings: everyone)

Also: only connectors/settings.py reads the environment, no module keeps run state in
module-level `global`s, and no module grows past the size a reader can hold."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from support import ROOT

PACKAGES = ("connectors", "agent", "workers", "casewright", "prompts")
LAYER = {"connectors": 0, "agent": 1, "workers": 2, "casewright": 3, "prompts": 0}
MAX_LINES = 400
ENV_READERS = {"connectors/settings.py"}


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = modules()


def imports_of(path: Path) -> set[str]:
    """Project modules a file imports anywhere in it (inside functions too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            # `import a.b.c` imports a.b.c (and its packages, whose __init__ are empty)
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name.split(".")[0] in PACKAGES:
                out.add(name)
    return out


GRAPH = {name: imports_of(path) - {name} for name, path in MODULES.items()}


def test_the_import_graph_is_read_from_every_module():
    assert len(MODULES) > 80
    assert "agent.intake.quality" in GRAPH["agent.nodes.assess"]  # a module-level import
    assert "agent.llm.generator" in GRAPH["agent.context"]
    inside = [m for m, path in MODULES.items() if any(
        isinstance(n, ast.ImportFrom) and n.col_offset > 0 for n in ast.walk(ast.parse(path.read_text())))]
    assert inside, "function-level imports are part of the graph"


def breaches(graph: dict[str, set[str]]) -> list[str]:
    """Imports against the layers (connectors.settings may be imported by everyone)."""
    wrong = []
    for module, targets in graph.items():
        for target in targets:
            if target != "connectors.settings" and LAYER[target.split(".")[0]] > LAYER[module.split(".")[0]]:
                wrong.append(f"{module} imports {target}")
    return sorted(wrong)


def cycles_in(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_layers_point_one_way():
    wrong = breaches(GRAPH)
    assert not wrong, "imports against the layers (CLI -> workers -> agent -> connectors):\n" + "\n".join(wrong)


def test_no_import_cycles():
    cycles = cycles_in(GRAPH)
    assert not cycles, "modules that import each other (directly or around a loop):\n" + \
        "\n".join(" <-> ".join(c) for c in cycles)


def test_the_checks_catch_a_cycle_and_a_layer_breach():
    fake = {"agent.a": {"agent.b"}, "agent.b": {"agent.c", "workers.x", "connectors.settings"},
            "agent.c": {"agent.a"}, "workers.x": {"connectors.settings"}, "connectors.settings": set(),
            "connectors.y": {"casewright.cli"}, "casewright.cli": {"workers.x"}}
    assert cycles_in(fake) == [["agent.a", "agent.b", "agent.c"]]
    assert breaches(fake) == ["agent.b imports workers.x", "connectors.y imports casewright.cli"]


def _calls_environment(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"} and \
                isinstance(node.value, ast.Name) and node.value.id == "os":
            lines.append(node.lineno)
    return lines


def test_only_the_settings_read_the_environment():
    readers = []
    for module, path in MODULES.items():
        rel = str(path.relative_to(ROOT))
        if rel in ENV_READERS or module.startswith("connectors.emulators") or module == "connectors.embeddings":
            continue  # embeddings sets HF_HUB_OFFLINE for the loader; it reads nothing
        for line in _calls_environment(ast.parse(path.read_text(encoding="utf-8"))):
            readers.append(f"{rel}:{line}")
    assert not readers, "read settings through connectors.settings instead of os.environ:\n" + "\n".join(readers)


def test_no_module_keeps_run_state_in_globals():
    offenders = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Global):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} global {', '.join(node.names)}")
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_stay_small(module):
    lines = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{MODULES[module].relative_to(ROOT)} has {lines} lines; split it by job"
