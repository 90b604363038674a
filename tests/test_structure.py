"""The code's structure: no import circles in musig, and method names only in the registry."""

from __future__ import annotations

import ast
from pathlib import Path

from musig.methods import METHODS

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "musig"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the nodes under ``if TYPE_CHECKING:`` (imports for annotations only)."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            inside.update(id(sub) for stmt in node.body for sub in ast.walk(stmt))
    return inside


def import_graph() -> dict[str, set[str]]:
    """musig module -> the musig modules it imports, at top level or inside functions.

    ``from pkg import name`` counts as importing ``pkg.name`` when that is a module, else
    ``pkg``; the implicit import of a module's parent package does not count.
    """
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text())
        skip = _type_checking_nodes(tree)
        deps = set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name in files)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in files:
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    deps.add(sub if sub in files else node.module)
        graph[name] = deps - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt, path)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [])):
            return found
    return None


def test_find_cycle_sees_a_circle_through_a_function_level_import():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_circles_in_musig():
    graph = import_graph()
    assert "musig.pipeline" in graph["musig.evaluation"]  # the graph is read at all
    assert find_cycle(graph) is None


def test_nothing_imports_the_package_upward():
    graph = import_graph()
    upward = sorted(m for m, deps in graph.items() if "musig" in deps)
    assert upward == []


def _sources() -> list[Path]:
    files = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]
    files += [p for p in sorted(PACKAGE.rglob("*.py")) if p != PACKAGE / "methods.py"]
    return files


def method_name_uses(source: str, names=METHODS) -> list[str]:
    """Where ``source`` holds method names outside the registry: a literal (tuple, list, set,
    dict keys or values) with two or more of them, or an ``==``/``!=``/``in`` comparison with one.
    """
    names = set(names)
    found = []

    def is_name(node) -> bool:
        return isinstance(node, ast.Constant) and node.value in names

    for node in ast.walk(ast.parse(source)):
        items = []
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            items = node.elts
        elif isinstance(node, ast.Dict):
            items = [k for k in node.keys if k is not None] + node.values
        if sum(is_name(i) for i in items) >= 2:
            found.append(f"line {node.lineno}: {ast.unparse(node)[:60]}")
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            ops = (ast.Eq, ast.NotEq, ast.In, ast.NotIn)
            if any(isinstance(op, ops) for op in node.ops) and any(map(is_name, operands)):
                found.append(f"line {node.lineno}: {ast.unparse(node)[:60]}")
    return found


def test_method_name_check_catches_lists_and_comparisons():
    src = 'A = ("musig", "als")\nif m == "content":\n    pass\nB = {"sage": 1, "x": 2}\n'
    assert [f.split(":")[0] for f in method_name_uses(src)] == ["line 1", "line 2"]
    assert method_name_uses('x = ["cooc", "acoustic"]\nif r in ("cooc",): pass\n') == []


def test_method_names_live_only_in_the_registry():
    offenders = {
        str(p.relative_to(ROOT)): uses
        for p in _sources()
        if (uses := method_name_uses(p.read_text()))
    }
    assert offenders == {}
