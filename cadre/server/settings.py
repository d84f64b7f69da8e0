"""The server's own settings (the models and routing live in the project config)."""
from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_MAX_REQUEST_BYTES = 1 << 20   # 1 MiB: long chats fit; an accidental upload does not


@dataclass(frozen=True)
class ServerSettings:
    """Safety and limits of one app.

    api_keys: accepted bearer keys; empty means no authentication.
    cors_origins: origins allowed by CORS; empty (the default) means CORS is off.
    max_request_bytes: larger request bodies get 413.
    route_threads: worker threads for routing, listing and metrics calls.
    body_timeout: seconds a request body may take to arrive; slower gets 408.
    local_images: the one folder under which image paths in requests are read (None:
        images only as base64 or data URLs, the default).
    max_in_flight: requests answered at once by this process; more get 429 at once.
    dashboard: serve the web dashboard at /ui (its data API under /v1 is always on).
    runs_dirs: folders the dashboard scans for specialist reports and learned routers
        (empty: runs/ in the working directory and beside the project file).
    route_inline: run routing decisions on the event loop instead of the routing thread
        pool (docs/serve.md has the measurement behind the default).
    bind_host: the address the server is bound to; with `allowed_hosts`, the names the
        `Host` header may carry (cadre/server/origin_guard.py).
    allowed_hosts: more Host names to answer (`.example.com`: its subdomains; `*`: any).
    """

    api_keys: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    route_threads: int = 16
    body_timeout: float = 30.0
    local_images: str | None = None
    max_in_flight: int = 512
    dashboard: bool = True
    runs_dirs: tuple[str, ...] = ()
    route_inline: bool = False
    bind_host: str = "127.0.0.1"
    allowed_hosts: tuple[str, ...] = ()

    def __post_init__(self):
        if self.max_request_bytes < 1:
            raise ValueError("max_request_bytes must be positive")
        if self.max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        if self.route_threads < 1:
            raise ValueError("route_threads must be at least 1")


def api_keys_from(cli_key: str | None, env: dict | None = None) -> tuple[str, ...]:
    """Keys from --api-key, else from $CADRE_API_KEY (comma-separated for several)."""
    env = os.environ if env is None else env
    raw = cli_key if cli_key else env.get("CADRE_API_KEY", "")
    return tuple(k.strip() for k in raw.split(",") if k.strip())
