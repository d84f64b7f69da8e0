"""Saving and opening router folders: cadre.json carries `router_kind`, the labels, the
per-route thresholds and the default route; an optional `fallback.yaml` holds keyword
rules that the router falls back to."""
from __future__ import annotations

from pathlib import Path

from cadre.checkpoint import find_metadata, read_metadata, write_metadata
from cadre.errors import CadreError
from cadre.labels import canonical_label, canonical_labels  # noqa: F401 (re-exported)

FALLBACK_FILE = "fallback.yaml"


def router_kind(meta: dict) -> str | None:
    """A router folder's kind from its cadre.json: `router_kind`, or nano for a folder
    that `cadre train --type router` wrote; None when it is not a router folder."""
    return meta.get("router_kind") or ("nano" if meta.get("type") == "router" else None)


def is_router_folder(path: str | Path | None) -> bool:
    """Whether a model's folder holds a saved router, read without loading it (a missing
    or corrupt cadre.json is not one: the backend that loads the folder reports it)."""
    try:
        meta = find_metadata(path)
    except CadreError:
        return False
    return meta is not None and (router_kind(meta) is not None or meta.get("task_kind") == "classifier")


def saved_router(path: str | Path | None) -> dict | None:
    """cadre.json of the router folder a registry model names, read without loading it:
    None when no folder is there yet (a router not trained yet); a one-line CadreError
    when the folder is there but its cadre.json is missing, corrupt or not a router's, so
    a broken folder is never taken for some kind of router."""
    if not path or not Path(path).is_dir():
        return None
    meta = read_metadata(path)
    if router_kind(meta) is None:
        raise CadreError(f"{path}: not a router folder (cadre.json type {meta.get('type')!r})")
    return meta


def router_meta(folder: str | Path, kind: str) -> dict:
    """Read cadre.json of a router folder of `kind`, checking that it has labels."""
    meta = read_metadata(folder)
    found = router_kind(meta)
    if found != kind:
        raise CadreError(f"{folder}: a {found!r} router folder, not {kind!r}")
    if not meta.get("labels") or len(meta["labels"]) < 2:
        raise CadreError(f"{folder}: corrupt router folder (cadre.json lists fewer than two labels)")
    return meta


def finish(router, folder: str | Path, meta: dict):
    """Apply saved thresholds and the default route to a loaded router (its keyword
    fallback is attached by `cadre.routing.loading.load_router`)."""
    router.set_thresholds({canonical_label(k): v for k, v in (meta.get("thresholds") or {}).items()})
    router.default_route = meta.get("default_route") or router.default_route
    return router


def update_meta(folder: str | Path, **fields) -> dict:
    """Merge fields into a router folder's cadre.json (atomically) and return the result."""
    meta = read_metadata(folder)
    meta.update(fields)
    meta.pop("format_version", None)
    meta.pop("versions", None)
    write_metadata(folder, meta)
    return meta
