"""Routers: the contract (`base`), routes as data (`routes`), saved folders (`store`,
`loading`), the intent routers (`intent/`: nano, embedding, keyword, TF-IDF, ensemble,
thresholds) and the learned "which LLM" router (`learned/`).

    from cadre.routing import load_router, default_router
    router = default_router()            # trained nano (if any) → keyword rules → "chat"
    router.route("draw me a cat")        # RouteChoice(name="image", score=..., reason=...)
"""
from __future__ import annotations

import os
from pathlib import Path

from cadre.labels import OOS_LABELS, OUT_OF_SCOPE
from cadre.routing.base import RouteChoice, Router, register_router
from cadre.routing.loading import load_router
from cadre.routing.routes import Route

DEFAULT_ROUTE = "chat"
MODELS_ENV = "CADRE_MODELS"
DEFAULT_MODELS_DIR = Path("models") / "specialized"
NANO_FOLDER_NAMES = ("router", "intent_router_nano", "router_nano")


def find_router_folder(models_dir: str | Path | None = None) -> Path | None:
    """A trained router folder under `models_dir` ($CADRE_MODELS, else models/specialized):
    the first of router/, intent_router_nano/, router_nano/ that holds a cadre.json."""
    base = Path(models_dir or os.environ.get(MODELS_ENV) or DEFAULT_MODELS_DIR)
    candidates = [base] + [base / name for name in NANO_FOLDER_NAMES]
    return next((c for c in candidates if (c / "cadre.json").is_file()), None)


def default_router(models_dir: str | Path | None = None, default_route: str = DEFAULT_ROUTE) -> Router:
    """The best chain available: a trained router (if a folder exists) → the bundled
    keyword rules → `default_route`. Every step shows in each RouteChoice's reason."""
    from cadre.routing.intent.keyword import KeywordRouter

    keyword = KeywordRouter.from_yaml()
    keyword.default_route = None  # the chain's last step belongs to the model router
    folder = find_router_folder(models_dir)
    if folder is None:
        keyword.default_route = default_route
        return keyword
    router = load_router(folder)
    router.fallback = router.fallback or keyword
    router.default_route = router.default_route or default_route
    return router


__all__ = ["OOS_LABELS", "OUT_OF_SCOPE", "Route", "RouteChoice", "Router", "default_router",
           "find_router_folder", "load_router", "register_router"]
