"""The app factory each `cadre serve --workers N` process runs (uvicorn imports it by
name); the multiprocess plumbing is in cadre/server/workers.py."""
from __future__ import annotations

import json
import os
from pathlib import Path


def app():
    """The app of one worker process: its own engine, 1/N of the memory budget."""
    from cadre.cli.serve import _log_to_stderr, build_engine
    from cadre.server.app import create_app
    from cadre.server.gctune import settle_heap
    from cadre.server.settings import ServerSettings
    from cadre.server.workers import ARGS_ENV, split_budget, start_gauge_refresh

    args = json.loads(os.environ[ARGS_ENV])
    _log_to_stderr(args.get("log_level", "info"))
    config = Path(args["config"]) if args["config"] else None
    engine = build_engine(config, args["queue_size"], args["memory_budget"], args.get("local_images"))
    split_budget(engine.manager, args["workers"])
    settings = ServerSettings(**{k: tuple(v) if isinstance(v, list) else v
                                 for k, v in args["settings"].items()})
    application = create_app(engine, settings)
    start_gauge_refresh(application)
    settle_heap()
    return application
