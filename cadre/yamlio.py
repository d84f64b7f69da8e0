"""Reading YAML safely: every YAML file cadre reads goes through `load_yaml`.

PyYAML's safe loader shares aliased nodes, so a 600-byte file of nested anchors (the
"billion laughs") loads as a small graph; but anything that then walks the data as a
tree (validation, the line index of config errors, JSON) does exponential work. Before
constructing anything, `load_yaml` counts the nodes the document has once its aliases
are expanded (linear in the graph, with a memo per node) and refuses a document whose
count passes `MAX_NODES`, or whose aliases refer to themselves.
"""
from __future__ import annotations

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
