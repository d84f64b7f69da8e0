"""`cadre serve --ray [ADDRESS]`: start (or join) Ray, deploy the Serve config, wait.

Without an address Ray starts embedded on this machine, bound to 127.0.0.1 with no
dashboard; with one (HOST:PORT, ray://HOST:PORT or auto) the app deploys on that
cluster. Serve's HTTP proxy listens on --host/--port. On SIGINT/SIGTERM the app and Serve
shut down, and an embedded Ray stops.
"""
from __future__ import annotations

import copy
import logging
import os
import shutil
import signal
import tempfile
import threading

from cadre.errors import CadreError
from cadre.fleet.cluster import CLUSTERS_ENV, clusters_off
from cadre.server.scale.app import METRICS_DIR_ENV, build
from cadre.server.scale.config import APP_NAME, INGRESS

log = logging.getLogger("cadre.server")
LOOPBACK = "127.0.0.1"


def loopback_only() -> None:
    """Keep an embedded Ray on 127.0.0.1 for this process's life (Serve outlives `connect`,
    so unlike the fleet's embedded instance the switch is not restored)."""
    import ray

    clusters_off(ray)


def deploy(config: dict, api_keys: tuple[str, ...] = (), metrics_dir: str | None = None) -> None:
    """Deploy a Serve config (from `serve_config`) on the Ray this process is connected to.
    The API keys and the shared metrics folder reach the ingress replicas as environment
    variables, never through the config."""
    from ray import serve

    app_cfg = copy.deepcopy(config["applications"][0])
    env = {k: v for k, v in {"CADRE_API_KEY": ",".join(api_keys), METRICS_DIR_ENV: metrics_dir}.items() if v}
    for entry in app_cfg["deployments"]:
        if entry["name"] == INGRESS and env:
            entry.setdefault("ray_actor_options", {}).setdefault("runtime_env", {})["env_vars"] = env
    serve.start(http_options=config["http_options"], proxy_location=config["proxy_location"])
    serve.run(build(app_cfg["args"], app_cfg["deployments"]), name=APP_NAME, route_prefix=app_cfg["route_prefix"])


def connect(address: str | None):
    """ray.init for --ray: the cluster at `address`, else an embedded Ray on loopback."""
    import ray

    from cadre.fleet.cluster import _import_path, check_reachable

    kwargs = dict(logging_level=logging.WARNING, log_to_driver=False, namespace="cadre")
    if address:
        try:
            check_reachable(address)
        except CadreError as exc:  # fleet's message names its own flag
            raise CadreError(str(exc).replace("--ray ", "--ray-address ", 1)) from None
    else:
        loopback_only()
        kwargs.update(_node_ip_address=LOOPBACK, include_dashboard=False,
                      runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join(_import_path()),
                                                CLUSTERS_ENV: "0"}})
    try:
        return ray.init(address=address, **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise CadreError(f"Ray: {first}") from None


def run(config: dict, address: str | None, api_keys: tuple[str, ...] = (), ready=None) -> None:
    """Serve until SIGINT/SIGTERM (or `ready`'s caller sets the returned event); then shut
    Serve down, and Ray too when it was embedded."""
    import ray
    from ray import serve

    info = connect(address)
    gcs = getattr(info, "address_info", {}).get("gcs_address") or address
    metrics_dir = tempfile.mkdtemp(prefix="cadre-metrics-") if not address else None
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        deploy(config, api_keys, metrics_dir)
        http = config["http_options"]
        print(f"cadre: serving on http://{http['host']}:{http['port']} (Ray Serve; "
              f"{'embedded ' if not address else ''}Ray at {gcs})", flush=True)
        if ready is not None:
            ready(stop)
        stop.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        try:  # on a cluster only this app goes; an embedded Ray goes whole
            serve.delete(APP_NAME) if address else serve.shutdown()
        finally:
            ray.shutdown()
            if metrics_dir:
                shutil.rmtree(metrics_dir, ignore_errors=True)
