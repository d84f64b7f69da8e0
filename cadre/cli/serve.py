"""`cadre serve`: the OpenAI-compatible API in front of the team of models."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from cadre.cli.verbs import verb

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@verb("serve")
def serve(config: Optional[Path] = typer.Option(None, "--config", help="Project file (cadre.yaml or specialized_models.json); default: $CADRE_CONFIG, ./cadre.yaml, then the built-in default."),
          host: str = typer.Option("127.0.0.1", help="Address to bind (loopback by default)."),
          port: int = typer.Option(8000, min=0, max=65535, help="TCP port (0 picks a free one)."),
          api_key: Optional[str] = typer.Option(None, "--api-key", envvar="CADRE_API_KEY", show_envvar=True,
                                                help="Require `Authorization: Bearer KEY` (comma-separate several keys)."),
          cors_origin: List[str] = typer.Option(None, "--cors-origin", help="Allow this browser origin (repeatable; CORS is off by default)."),
          allowed_host: List[str] = typer.Option(None, "--allowed-host", help="Also answer requests whose Host header is this name (repeatable; .example.com allows its subdomains, * any name). Default: the bound address, localhost, 127.0.0.1, [::1], and any IP address when bound to 0.0.0.0 or ::."),
          max_request_bytes: int = typer.Option(1 << 20, min=1, help="Larger request bodies get 413."),
          queue_size: Optional[int] = typer.Option(None, min=0, help="Requests that may wait per model while it is busy (default: runtime.max_queue of the project); more get 429 with Retry-After."),
          memory_budget: Optional[str] = typer.Option(None, "--memory-budget", help="Memory the loaded models may use, e.g. 2GB or 800MB (default: runtime.memory_budget of the project, 'auto' = what the device has free)."),
          graceful_timeout: float = typer.Option(30.0, min=0, help="Seconds to let in-flight requests finish on shutdown."),
          header_timeout: float = typer.Option(10.0, min=0.1, help="Seconds a client may take to send a request line and headers; slower connections get 408 and are closed (slowloris)."),
          body_timeout: float = typer.Option(30.0, min=0.1, help="Seconds a request body may take to arrive (e.g. a Content-Length larger than what is sent); slower gets 408."),
          max_connections: int = typer.Option(256, min=1, help="Open connections at most; more are answered 503 and closed."),
          allow_local_images: Optional[Path] = typer.Option(None, "--allow-local-images", help="Read image paths sent in requests, but only files under this folder (off by default: images arrive as base64 data URLs only).", file_okay=False, exists=True, resolve_path=True),
          workers: int = typer.Option(1, min=1, max=64, help="Processes answering on the port, each with its own engine and 1/N of the memory budget; /metrics sums them all."),
          max_in_flight: int = typer.Option(512, min=1, help="Requests one process answers at once; more get 429 with Retry-After at once."),
          ui: Optional[bool] = typer.Option(None, "--ui/--no-ui", help="Serve the web dashboard at /ui (default: on for a loopback address or when an API key is set; the page asks for the key)."),
          runs_dir: List[Path] = typer.Option(None, "--runs-dir", help="Folder the dashboard scans for specialist reports and learned routers (repeatable; default: ./runs and runs/ beside the project file)."),
          route_inline: bool = typer.Option(False, "--route-inline", help="Make /v1/route decisions on the event loop rather than in the routing thread pool (see docs/serve.md)."),
          ray: bool = typer.Option(False, "--ray", help="Run as a Ray Serve application: ingress and model replicas "
                                   "from the project's scale: section (an embedded Ray on 127.0.0.1 unless --ray-address; docs/scale.md)."),
          ray_address: Optional[str] = typer.Option(None, "--ray-address", help="With --ray: join this Ray cluster (HOST:PORT, ray://HOST:PORT or auto)."),
          print_config: bool = typer.Option(False, "--print-config", help="With --ray: print the Serve config (the serveConfigV2 of a KubeRay RayService) and exit."),
          cluster_config_path: Optional[str] = typer.Option(None, "--cluster-config-path", help="With --print-config: where the replicas read the project file (default: its absolute path here)."),
          log_level: str = typer.Option("info", help="uvicorn log level.")) -> None:
    """Serve chat/completions, completions, models, route, health and metrics over HTTP,
    and the web dashboard at /ui."""
    import uvicorn

    from cadre.server.app import create_app
    from cadre.server.gctune import settle_heap
    from cadre.server.protocol import guard_workers, guarded_protocol
    from cadre.server.settings import ServerSettings, api_keys_from

    from cadre.errors import CadreError
    from cadre.server.origin_guard import bad_allowed_host

    for name in allowed_host or ():
        if bad_allowed_host(name):
            raise CadreError(bad_allowed_host(name))
    keys = api_keys_from(api_key)
    dashboard = dashboard_on(ui, host, keys)
    settings = ServerSettings(api_keys=keys, cors_origins=tuple(cors_origin or ()),
                              max_request_bytes=max_request_bytes, body_timeout=body_timeout,
                              local_images=str(allow_local_images) if allow_local_images else None,
                              max_in_flight=max_in_flight, dashboard=dashboard,
                              runs_dirs=tuple(str(d) for d in runs_dir or ()), route_inline=route_inline,
                              bind_host=host, allowed_hosts=tuple(allowed_host or ()))
    engine = build_engine(config, queue_size, memory_budget, settings.local_images)
    if ray or ray_address or print_config or cluster_config_path:
        from cadre.cli.serve_ray import serve_ray

        engine.close()  # it checked the project here (one-line errors); the replicas build their own
        if host not in LOOPBACK and not keys and not print_config:
            typer.echo(f"warning: serving on {host} without an API key; anyone who can reach it can use it",
                       err=True)
        return serve_ray(engine.config, config, host, port, keys, settings, queue_size, memory_budget, log_level,
                         ray_address, print_config, cluster_config_path, workers)
    if host not in LOOPBACK and not keys:
        typer.echo(f"warning: serving on {host} without an API key; anyone who can reach it can use it",
                   err=True)
    if "*" in (allowed_host or ()) and not keys:
        typer.echo("warning: --allowed-host '*' without an API key: a DNS-rebinding web page can read this "
                   "server's API", err=True)
    _log_to_stderr(log_level)
    if workers > 1:
        from cadre.server.workers import split_budget

        try:  # the parent only checks the project (and each worker's share); workers build their own
            split_budget(engine.manager, workers)
        finally:
            engine.close()
        return _serve_workers(workers, host, port, log_level, graceful_timeout, settings,
                              guard_workers(header_timeout, max_connections),
                              {"config": str(config.resolve()) if config else None,
                               "queue_size": queue_size, "memory_budget": memory_budget,
                               "local_images": settings.local_images})
    app = create_app(engine, settings)
    from cadre.runtime.math_sandbox import math_pool

    math_pool().warm()  # sympy workers import while the server starts, not on the first problem
    settle_heap()
    # uvicorn stops accepting on SIGINT/SIGTERM and lets requests in flight finish first.
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=log_level,
                                           timeout_graceful_shutdown=graceful_timeout,
                                           http=guarded_protocol(header_timeout, max_connections)))
    try:
        server.run()
    finally:
        engine.close()
        math_pool().close()


def _serve_workers(workers: int, host: str, port: int, log_level: str, graceful_timeout: float,
                   settings, protocol: str, engine_args: dict) -> None:
    """uvicorn's supervisor with N worker processes (see cadre/server/workers.py)."""
    import dataclasses

    import uvicorn

    from cadre.server.workers import cleanup_parent, prepare_parent

    folder = prepare_parent({**engine_args, "workers": workers, "log_level": log_level,
                             "settings": dataclasses.asdict(settings)})
    try:
        uvicorn.run("cadre.cli.serve_workers:app", factory=True, workers=workers, host=host, port=port,
                    log_level=log_level, timeout_graceful_shutdown=graceful_timeout, http=protocol)
    finally:
        cleanup_parent(folder)


def dashboard_on(ui: Optional[bool], host: str, keys: tuple[str, ...]) -> bool:
    """--ui/--no-ui when given; else on for a loopback address, or anywhere with an API key
    (the page itself holds no data, and its API needs the key)."""
    return ui if ui is not None else (host in LOOPBACK or bool(keys))


def _log_to_stderr(level: str) -> None:
    """cadre's own log lines (failed requests with their traceback, cancelled generations,
    model loads) go to stderr beside uvicorn's."""
    import logging

    log = logging.getLogger("cadre")
    if not any(getattr(h, "_cadre_serve", False) for h in log.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        handler._cadre_serve = True
        log.addHandler(handler)
    log.setLevel(getattr(logging, level.upper(), logging.INFO))


def build_engine(config: Optional[Path], queue_size: Optional[int], memory_budget: Optional[str] = None,
                 local_images: Optional[str] = None):
    """The engine for a project file (or the project found the usual way); `queue_size`
    overrides the project's per-model waiting room (runtime.max_queue) and `memory_budget`
    its runtime.memory_budget. Image paths in requests are read only under `local_images`."""
    from cadre.config import RuntimeSettings, find_config
    from cadre.errors import CadreError
    from cadre.runtime.engine import Engine

    project = find_config(config)
    update = {}
    if queue_size is not None:
        update["max_queue"] = queue_size
    if memory_budget is not None:
        try:  # validated like the project file's field, so "2 parsecs" is a one-line error
            RuntimeSettings(memory_budget=memory_budget)
        except ValueError as exc:
            raise CadreError(f"--memory-budget {memory_budget!r}: {exc.errors()[0]['msg']}") from None
        update["memory_budget"] = memory_budget
    if update:
        project = project.model_copy(update={"runtime": project.runtime.model_copy(update=update)})
    return Engine(project, local_images=local_images)
