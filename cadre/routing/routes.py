"""Routes as data, in the style of semantic-router: a YAML of routes, each with a name,
example utterances, keyword patterns and a threshold.

```yaml
default_route: chat        # optional
routes:
  - name: image
    threshold: 0.5
    utterances: [draw me a cat, paint a sunset]
    patterns: ['\\bdraw\\b', paint]
```

A plain mapping `{route: threshold}` is accepted too, as a thresholds file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cadre.errors import CadreError
from cadre.fsutil import atomic_write_text


@dataclass
class Route:
    """A route is data: a name, example utterances, keyword patterns and a threshold."""

    name: str
    utterances: list[str] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)
    threshold: float | None = 0.0  # None: not set (a routes YAML may leave it out)


ROUTE_KEYS = {"name", "utterances", "patterns", "threshold"}


def routes_to_yaml(routes: list[Route], default_route: str | None = None) -> str:
    """Render routes as YAML text (empty lists and unset thresholds are left out)."""
    import yaml

    rows = []
    for r in routes:
        row = {"name": r.name}
        if r.threshold is not None:
            row["threshold"] = round(float(r.threshold), 6)
        row.update({k: list(v) for k, v in (("utterances", r.utterances), ("patterns", r.patterns)) if v})
        rows.append(row)
    doc = ({"default_route": default_route} if default_route else {}) | {"routes": rows}
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


def write_routes_yaml(path: str | Path, routes: list[Route], default_route: str | None = None) -> None:
    """Write a routes YAML atomically."""
    atomic_write_text(path, routes_to_yaml(routes, default_route))


def read_routes_yaml(path: str | Path) -> tuple[list[Route], str | None]:
    """Parse a routes YAML (or a `{route: threshold}` mapping): returns (routes, default_route)."""
    from cadre.data.examples import read_text_file

    return parse_routes_yaml(read_text_file(path), str(path))


def parse_routes_yaml(text: str, where: str = "<routes>") -> tuple[list[Route], str | None]:
    """Parse routes YAML text; errors name the file (and line, for YAML syntax errors)."""
    from cadre.yamlio import safe_load

    doc = safe_load(text, where)
    if isinstance(doc, dict) and "routes" not in doc and all(_is_number(v) for v in doc.values()):
        return [Route(str(k), threshold=float(v)) for k, v in doc.items()], None  # thresholds mapping
    rows = doc.get("routes") if isinstance(doc, dict) else doc
    if not isinstance(rows, list) or not rows:
        raise CadreError(f"{where}: expected a list of routes (name, utterances, patterns, threshold)")
    routes = [_route(row, f"{where}: route {i + 1}") for i, row in enumerate(rows)]
    names = [r.name for r in routes]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise CadreError(f"{where}: route(s) {duplicates} appear more than once")
    default = doc.get("default_route") if isinstance(doc, dict) else None
    return routes, (str(default) if default else None)


def _route(row, where: str) -> Route:
    if not isinstance(row, dict) or not row.get("name"):
        raise CadreError(f"{where}: each route needs a name")
    unknown = sorted(set(row) - ROUTE_KEYS)
    if unknown:
        raise CadreError(f"{where}: unknown key(s) {unknown}; use {sorted(ROUTE_KEYS)}")
    threshold = row.get("threshold")
    if threshold is not None and not _is_number(threshold):
        raise CadreError(f"{where}: threshold {threshold!r} is not a number")
    lists = {k: row.get(k) or [] for k in ("utterances", "patterns")}
    for key, value in lists.items():
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise CadreError(f"{where}: {key} must be a list of strings")
    return Route(str(row["name"]), lists["utterances"], lists["patterns"],
                 None if threshold is None else float(threshold))


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
