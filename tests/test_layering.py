"""The layout's layering (README, "Layout"): which package may import which, no cycles between
folders, and every module and path the README and docs/ name exists."""

from __future__ import annotations

import ast
import importlib.util
import re
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("corpo_advantage", "corpo_sampling", "data_prep", "recipe")

#: package (or folder) -> the packages of ours it must never import
FORBIDDEN = {
    "corpo_advantage": ("corpo_sampling", "data_prep", "recipe", "tests"),
    "corpo_sampling": ("data_prep", "recipe", "tests"),
    "data_prep": ("recipe", "tests"),
    "recipe": ("tests",),
    # the shared formats come before every stage of the pipeline
    "data_prep.formats": ("data_prep.convert", "data_prep.generate", "data_prep.label", "data_prep.pairs"),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every absolute module an import statement in ``path`` names (top level or inside functions)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _our_modules() -> dict[str, set[str]]:
    return {_module_name(path): _imports(path)
            for package in PACKAGES for path in sorted((REPO / package).rglob("*.py"))}


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_no_package_imports_what_its_layer_must_not():
    broken = [f"{module} imports {name}"
              for module, names in _our_modules().items()
              for owner, forbidden in FORBIDDEN.items() if _within(module, owner)
              for name in names for banned in forbidden if _within(name, banned)]
    assert not broken, "\n".join(broken)


def _folders() -> dict[str, str]:
    """module -> the folder it belongs to, for the cycle check (``data_prep.label.sandbox.run`` ->
    ``data_prep.label``: a stage's subfolders are part of the stage; ``recipe.corpo``'s subfolders count apart)."""
    folders = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            parts = path.relative_to(REPO).parent.parts
            folders[_module_name(path)] = ".".join(parts[:3 if parts[0] == "recipe" else 2])
    return folders


def test_folders_do_not_import_each_other_both_ways():
    modules, folder = _our_modules(), _folders()
    graph = defaultdict(set)
    for module, names in modules.items():
        for name in names:
            target = next((m for m in (name, name.rpartition(".")[0]) if m in modules), None)
            if target and folder[target] != folder[module]:
                graph[folder[module]].add(folder[target])
    # depth-first search for a cycle
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            pytest.fail("folders import each other in a cycle: " + " -> ".join(cycle))


def _documents() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def test_every_python_m_command_in_the_docs_names_a_module_that_exists():
    missing = []
    for doc in _documents():
        for module in set(re.findall(r"python3? -m ((?:corpo_|data_prep|recipe)[\w.]*)", doc.read_text(encoding="utf-8"))):
            if importlib.util.find_spec(module) is None:
                missing.append(f"{doc.relative_to(REPO)}: python -m {module}")
    assert not missing, "\n".join(missing)


def test_every_repository_path_in_the_docs_exists():
    pattern = re.compile(r"(?<![\w./-])((?:scripts|recipe|data_prep|corpo_advantage|corpo_sampling|tests|docs)/[\w./-]*\w)(?![\w{*])")
    missing = []
    for doc in _documents():
        for path in set(pattern.findall(doc.read_text(encoding="utf-8"))):
            if "*" not in path and not (REPO / path).exists() and not (REPO / "docs" / path).exists():
                missing.append(f"{doc.relative_to(REPO)}: {path}")
    assert not missing, "\n".join(sorted(missing))
