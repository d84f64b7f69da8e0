"""Reading YAML safely: every YAML file cadre reads goes through `load_yaml`.

PyYAML's safe loader shares aliased nodes, so a 600-byte file of nested anchors (the
"billion laughs") loads as a small graph; but anything that then walks the data as a
tree (validation, the line index of config errors, JSON) does exponential work. Before
constructing anything, `load_yaml` counts the nodes the document has once its aliases
are expanded (linear in the graph, with a memo per node) and refuses a document whose
count passes `MAX_NODES`, or whose aliases refer to themselves.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from cadre.errors import CadreError

MAX_NODES = 100_000  # nodes after expanding aliases; a large real config has a few thousand


def load_yaml(text: str, where: str) -> tuple[Any, Any]:
    """(data, node): the document's data and its composed node graph (None for an empty
    document). One-line CadreErrors name `where` (and the line, for syntax errors)."""
    import yaml

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        try:
            count = expanded_size(node)
        except RecursionError:
            raise CadreError(f"{where}: a YAML alias refers to itself (a recursive anchor)") from None
        if count > MAX_NODES:
            raise CadreError(f"{where}: YAML expands to more than {MAX_NODES} values through its "
                             f"aliases (*name); write the repeated parts out instead")
        return loader.construct_document(node), node
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise CadreError(f"{where}{line}: invalid YAML ({problem})") from None
    finally:
        loader.dispose()


def safe_load(text: str, where: str) -> Any:
    """The document's data (see `load_yaml`)."""
    return load_yaml(text, where)[0]


def expanded_size(root, limit: int = MAX_NODES) -> int:
    """Nodes in the tree the graph unfolds to (capped just past `limit`); RecursionError
    for an alias that contains itself. Iterative, so a deep document cannot overflow the stack."""
    import yaml

    sizes: dict[int, int] = {}
    busy: set[int] = set()
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        kids = _children(node, yaml)
        if children_done:
            busy.discard(key)
            sizes[key] = min(limit + 1, 1 + sum(sizes[id(k)] for k in kids))
            continue
        if key in busy:
            raise RecursionError(node.start_mark)
        busy.add(key)
        stack.append((node, True))
        for kid in kids:
            if id(kid) in busy:
                raise RecursionError(node.start_mark)
            if id(kid) not in sizes:
                stack.append((kid, False))
    return sizes[id(root)]


def _children(node, yaml) -> list:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


# ----------------------------------------------------------------------------- files with line numbers
def read_text(path: Path) -> str:
    """A config file's text; one-line CadreErrors for unreadable, non-UTF-8 or binary files."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CadreError(f"{path}: cannot read ({exc.strerror})") from None
    if b"\0" in raw:
        raise CadreError(f"{path}: a binary file, not a text config")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CadreError(f"{path}: not valid UTF-8 (byte {exc.start})") from None


def read_mapping(path: str | Path, expected: str, missing: str = "not found") -> tuple[dict, dict]:
    """The one reader of a YAML settings file (project file, specialist recipe, SkyPilot
    task): (data, lines), where `lines` maps a field path such as ("models", 1, "backend")
    to its line, for `describe`. A missing or bad file, or a document that is not a
    mapping, is a one-line CadreError naming the file (`{path}: {missing}`,
    `{path}: expected {expected}`)."""
    path = Path(path)
    if not path.is_file():
        raise CadreError(f"{path}: {missing}")
    data, lines = parse_with_lines(read_text(path), path)
    if not isinstance(data, dict):
        raise CadreError(f"{path}: expected {expected}")
    return data, lines


def parse_with_lines(text: str, where) -> tuple[Any, dict]:
    """A YAML document's data and its field path → line index (empty for an empty document)."""
    data, node = load_yaml(text, str(where))
    lines: dict = {}
    if node is not None:
        _index_lines(node, (), lines)
    return data, lines


def _index_lines(node, loc: tuple, lines: dict) -> None:
    import yaml

    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            lines[loc + (key.value,)] = key.start_mark.line + 1
            if not isinstance(value, yaml.ScalarNode):
                _index_lines(value, loc + (key.value,), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, loc + (i,), lines)


def describe(where, exc, lines: dict | None = None) -> str:
    """A pydantic ValidationError as one line: `where[:line]: field.path: message` (and a
    count of further errors); the line comes from `read_mapping`'s index when given."""
    first = exc.errors()[0]
    loc = tuple(first.get("loc", ()))
    field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".") or "(top level)"
    line = next((lines[loc[:n]] for n in range(len(loc), -1, -1) if loc[:n] in lines), None) if lines else None
    msg = first.get("msg", "invalid").removeprefix("Value error, ")
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}{f':{line}' if line else ''}: {field}: {msg}{more}"
