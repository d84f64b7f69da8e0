"""Opening any saved router folder: the built-in kinds' modules, and the keyword fallback a folder may carry (`fallback.yaml`)."""
from __future__ import annotations

import importlib
from pathlib import Path

from cadre.checkpoint import read_metadata
from cadre.errors import CadreError
from cadre.routing.base import LOADERS, Router
from cadre.routing.store import FALLBACK_FILE, router_kind

BUILTIN_MODULES = ("cadre.routing.learned.router",)  # routers outside the intent kinds' registry


def builtin_modules() -> list[str]:
    """The intent kinds' modules (from their registry) and the learned router's."""
    from cadre.routing.intent.kinds import router_modules

    return router_modules() + list(BUILTIN_MODULES)


def register_builtins() -> None:
    """Import the built-in router modules, each of which registers its loader in one line."""
    for name in builtin_modules():
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a missing dependency, not a missing optional module
                raise


def attach_fallback(router: Router, folder: str | Path) -> Router:
    """A folder's keyword rules become the router's fallback (the chain model → keyword)."""
    rules = Path(folder) / FALLBACK_FILE
    if rules.is_file():
        from cadre.routing.intent.keyword import KeywordRouter

        router.fallback = KeywordRouter.from_yaml(rules)
    return router


def load_router(path: str | Path) -> Router:
    """Load any saved router folder; its cadre.json names the kind."""
    path = Path(path)
    kind = router_kind(read_metadata(path))
    if kind not in LOADERS:
        register_builtins()
    if kind not in LOADERS:
        raise CadreError(f"{path}: not a router folder (kind {kind!r}); known kinds: {sorted(LOADERS)}")
    return attach_fallback(LOADERS[kind](path), path)
