"""The package's layering, checked from the source with `ast` (imports inside functions
count too): no import cycles among cadre modules, serving code never imports training,
and the CLI and the server are imported only from where they belong."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "cadre"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def resolve_relative(module: str, is_package: bool, level: int, target: str | None) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join(base + ([target] if target else []))


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """Every cadre module `path` imports, anywhere in the file. `from a import b` counts
    as an import of `a.b` when that is a module, else of `a`."""
    module = module_name(path)
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source = node.module or ""
            if node.level:
                source = resolve_relative(module, path.name == "__init__.py", node.level, node.module)
            names = [f"{source}.{alias.name}" if f"{source}.{alias.name}" in known else source
                     for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    known = {module_name(p) for p in paths}
    return {module_name(p): imported_modules(p, known) for p in paths}


GRAPH = import_graph()


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (as a path that returns to its start), or None. Package
    `__init__` edges to their own children are left out: importing a package's submodule
    runs its `__init__` first, so that edge is not a cycle the code can see."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if dep.startswith(node + "."):
                continue
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state and (cycle := visit(dep)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def in_package(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_the_checker_sees_imports_inside_functions_and_cycles(tmp_path):
    source = tmp_path / "cadre" / "a.py"
    source.parent.mkdir()
    source.write_text("def f():\n    from cadre import b\n    import cadre.c.d as e\n")
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path / "cadre"
    try:
        assert imported_modules(source, {"cadre.a", "cadre.b", "cadre.c", "cadre.c.d"}) == {"cadre.b", "cadre.c.d"}
    finally:
        PACKAGE = saved
    assert find_cycle({"x": {"y"}, "y": {"z"}, "z": {"x"}}) == ["x", "y", "z", "x"]
    assert find_cycle({"x": {"y"}, "y": set()}) is None


def test_the_package_is_parsed():
    assert len(GRAPH) > 50 and "cadre.runtime.engine" in GRAPH


def test_no_import_cycles():
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("serving", ["cadre.runtime", "cadre.server", "cadre.routing"])
def test_serving_never_imports_training(serving):
    bad = sorted(f"{m} imports {d}" for m, deps in GRAPH.items() if in_package(m, serving)
                 for d in deps if in_package(d, "cadre.training"))
    assert not bad, bad


def test_only_the_cli_imports_the_cli():
    bad = sorted(f"{m} imports {d}" for m, deps in GRAPH.items() if not in_package(m, "cadre.cli")
                 for d in deps if in_package(d, "cadre.cli"))
    assert not bad, bad


def test_only_the_cli_and_the_server_import_the_server():
    allowed = ("cadre.cli", "cadre.server")
    bad = sorted(f"{m} imports {d}" for m, deps in GRAPH.items()
                 if not any(in_package(m, a) for a in allowed)
                 for d in deps if in_package(d, "cadre.server"))
    assert not bad, bad


# The fields of runtime/answer.Answer: only that module writes them (issue 24: the old
# StreamHandle was written by five modules in two layers and nobody owned finish_reason).
ANSWER_FIELDS = {"model", "reason", "route", "usage", "finish_reason", "request_id", "cost", "feedback_token",
                 "deltas", "astream", "awhole", "proxy", "error", "logprobs", "cancelled"}
ANSWER_NAMES = {"answer", "handle", "first", "more", "live"}  # what the code calls an answer


def answer_writes(path: Path) -> list[str]:
    """`<answer>.<field> = ...` (or +=) anywhere in a file, `self.handle.<field>` included."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
        for target in (t for top in targets for t in ast.walk(top)):
            if not (isinstance(target, ast.Attribute) and target.attr in ANSWER_FIELDS):
                continue
            owner = target.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
            if name in ANSWER_NAMES:
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {ast.unparse(target)}")
    return found


def test_the_checker_sees_answer_writes(tmp_path):
    source = tmp_path / "x.py"
    source.write_text("def f(handle, answer):\n    handle.finish_reason = 'stop'\n"
                      "    a, answer.usage = 1, 2\n    self.handle.error += 'x'\n    other.model = 1\n")
    global PACKAGE
    saved, PACKAGE = PACKAGE, tmp_path
    try:
        assert [w.split(" ", 1)[1] for w in answer_writes(source)] == [
            "handle.finish_reason", "answer.usage", "self.handle.error"]
    finally:
        PACKAGE = saved


def test_only_runtime_answer_writes_an_answer():
    owner = PACKAGE / "runtime" / "answer.py"
    bad = [w for path in sorted(PACKAGE.rglob("*.py")) if path != owner for w in answer_writes(path)]
    assert not bad, bad


METADATA_READERS = ("cadre.checkpoint", "cadre.routing.store")
_PARSERS = {"loads", "load", "read_json"}  # json.loads/json.load, or a helper that wraps them


def parses_metadata(tree: ast.AST) -> list[int]:
    """Lines of the functions (or the module body) that name cadre.json (or METADATA_FILE)
    and also parse JSON: a second reader of cadre.json."""
    found = []
    scopes = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    for scope in scopes:
        names_it = any(isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.endswith("cadre.json")
                       or isinstance(n, ast.Name) and n.id == "METADATA_FILE" for n in ast.walk(scope))
        parses = any(isinstance(n, ast.Call) and (getattr(n.func, "attr", None) in _PARSERS
                                                  or getattr(n.func, "id", None) in _PARSERS)
                     for n in ast.walk(scope))
        if names_it and parses:
            found.append(scope.lineno)
    return found


def test_the_metadata_check_sees_a_second_reader():
    tree = ast.parse('def kind(p):\n    return json.loads((Path(p) / "cadre.json").read_text())\n')
    assert parses_metadata(tree) == [1]
    assert parses_metadata(ast.parse('def f(p):\n    return (Path(p) / "cadre.json").is_file()\n')) == []


def test_only_checkpoint_and_the_router_store_parse_cadre_json():
    bad = [f"{module_name(p)}:{line}" for p in sorted(PACKAGE.rglob("*.py"))
           if module_name(p) not in METADATA_READERS
           for line in parses_metadata(ast.parse(p.read_text(encoding="utf-8")))]
    assert not bad, f"parse cadre.json through cadre.checkpoint (parse_metadata/read_metadata): {bad}"
