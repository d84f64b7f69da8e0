"""Saving and opening router folders: cadre.json carries `router_kind`, the labels, the
per-route thresholds and the default route; an optional `fallback.yaml` holds keyword
rules that the router falls back to."""
from __future__ import annotations

from pathlib import Path

from cadre.errors import CadreError
from cadre.routing.base import OOS_LABELS, OUT_OF_SCOPE, Router

FALLBACK_FILE = "fallback.yaml"


def canonical_labels(labels) -> list[str]:
    """Labels with any out-of-scope spelling (`oos`) turned into `out_of_scope`."""
    return [OUT_OF_SCOPE if str(label) in OOS_LABELS else str(label) for label in labels]


def router_meta(folder: str | Path, kind: str) -> dict:
    """Read cadre.json of a router folder of `kind`, checking that it has labels."""
    from cadre.checkpoint import read_metadata

    meta = read_metadata(folder)
    found = meta.get("router_kind") or ("nano" if meta.get("type") == "router" else None)
    if found != kind:
        raise CadreError(f"{folder}: a {found!r} router folder, not {kind!r}")
    if not meta.get("labels") or len(meta["labels"]) < 2:
        raise CadreError(f"{folder}: corrupt router folder (cadre.json lists fewer than two labels)")
    return meta


def finish(router: Router, folder: str | Path, meta: dict) -> Router:
    """Apply saved thresholds, default route and keyword fallback to a loaded router."""
    thresholds = {OUT_OF_SCOPE if k in OOS_LABELS else k: v for k, v in (meta.get("thresholds") or {}).items()}
    router.set_thresholds(thresholds)
    router.default_route = meta.get("default_route") or router.default_route
    rules = Path(folder) / FALLBACK_FILE
    if rules.is_file():
        from cadre.routing.keyword import KeywordRouter

        router.fallback = KeywordRouter.from_yaml(rules)
    return router


def update_meta(folder: str | Path, **fields) -> dict:
    """Merge fields into a router folder's cadre.json (atomically) and return the result."""
    from cadre.checkpoint import read_metadata, write_metadata

    meta = read_metadata(folder)
    meta.update(fields)
    meta.pop("format_version", None)
    meta.pop("versions", None)
    write_metadata(folder, meta)
    return meta
