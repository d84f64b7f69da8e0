"""The Ray side of a fleet: join a cluster or start a local instance, and check that every
task fits on some node before any is submitted (a task Ray cannot place would wait forever)."""
from __future__ import annotations

import contextlib
import logging
import os
import socket
from typing import Iterator

from cadre.errors import CadreError

CONNECT_TIMEOUT_S = 3.0
LOOPBACK = "127.0.0.1"
CLUSTERS_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"  # Ray's switch; see _loopback_only


def _ray():
    try:
        import ray
    except ImportError:
        raise CadreError("Ray is not installed: pip install 'cadre[fleet]'") from None
    return ray


def check_reachable(address: str) -> None:
    """A TCP connect to the head (GCS or Ray Client port) before ray.init, which would
    otherwise retry for a minute and end in a traceback."""
    if address == "auto":
        return
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise CadreError(f"--ray {address!r}: expected HOST:PORT, ray://HOST:PORT or auto")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise CadreError(f"--ray {address}: cannot reach a Ray cluster there ({exc.strerror or exc})") from None


@contextlib.contextmanager
def connect(address: str | None, num_cpus: int | None = None) -> Iterator[dict]:
    """Ray for the length of the block: the cluster at `address`, else a local instance
    on this machine (its CPUs and GPUs). Yields a description of where the fleet runs."""
    ray = _ray()
    if address:
        check_reachable(address)
    kwargs = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    if not address:  # the embedded default: this machine, workers seeing the driver's imports
        kwargs.update(num_cpus=num_cpus or os.cpu_count(), _node_ip_address=LOOPBACK,
                      runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join(_import_path()),
                                                  **_passed_env()}})
    with contextlib.ExitStack() as stack:
        if not address:
            stack.enter_context(_loopback_only(ray))
        try:
            info = ray.init(address=address, **kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise CadreError(f"Ray: {str(exc).strip().splitlines()[0][:200] if str(exc).strip() else exc}") from None
        try:
            yield {"address": address or "local", "dashboard": getattr(info, "dashboard_url", None),
                   "nodes": len([n for n in ray.nodes() if n.get("Alive")])}
        finally:
            ray.shutdown()


@contextlib.contextmanager
def _loopback_only(ray) -> Iterator[None]:
    """Keep an embedded Ray on 127.0.0.1: Ray has no authentication, and by default its
    GCS, raylet, agents and workers listen on every interface.

    On Linux Ray turns a loopback `_node_ip_address` into the machine's routable address
    (`services.resolve_ip_for_localhost`) and binds its gRPC servers to `::`. With clusters
    off (what RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 does, Ray's mode on macOS and Windows) the
    node address is 127.0.0.1 and every server binds to it. The flag is read at import,
    so it is set on Ray's constants module too, and the environment carries it to every
    process Ray starts; both are restored after, for a later `--ray ADDRESS` in this process.
    """
    constants = ray._private.ray_constants
    saved_flag, saved_env = constants.ENABLE_RAY_CLUSTER, os.environ.get(CLUSTERS_ENV)
    clusters_off(ray)
    try:
        yield
    finally:
        constants.ENABLE_RAY_CLUSTER = saved_flag
        if saved_env is None:
            os.environ.pop(CLUSTERS_ENV, None)
        else:
            os.environ[CLUSTERS_ENV] = saved_env


def clusters_off(ray) -> None:
    """Ray's clusters switch off, on its constants (read at import) and in the environment
    (carried to every process Ray starts): an embedded Ray then stays on 127.0.0.1."""
    ray._private.ray_constants.ENABLE_RAY_CLUSTER = False
    os.environ[CLUSTERS_ENV] = "0"


def _passed_env() -> dict[str, str]:
    """Settings the workers need from the driver: where ../shared lives (CADRE_SHARED)."""
    return {k: os.environ[k] for k in ("CADRE_SHARED",) if k in os.environ}


def _import_path() -> list[str]:
    """Where this process finds cadre, first on the workers' path too."""
    import cadre

    root = os.path.dirname(os.path.dirname(os.path.abspath(cadre.__file__)))
    rest = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != root]
    return [root, *rest]


def node_capacities() -> list[dict]:
    """Each live node's CPUs, GPUs and memory (GB)."""
    ray = _ray()
    out = []
    for node in ray.nodes():
        if node.get("Alive"):
            res = node.get("Resources", {})
            out.append({"cpus": res.get("CPU", 0.0), "gpus": res.get("GPU", 0.0),
                        "memory_gb": res.get("memory", 0.0) / 2**30})
    return out


def check_fits(tasks, nodes: list[dict]) -> None:
    """Every task fits on at least one node; else a one-line error naming the first that
    does not and what the largest node offers."""
    for t in tasks:
        if any(n["cpus"] >= t.cpus and n["gpus"] >= t.gpus and (t.memory_gb is None or n["memory_gb"] >= t.memory_gb)
               for n in nodes):
            continue
        big = max(nodes, key=lambda n: (n["gpus"], n["cpus"], n["memory_gb"]), default=None)
        offer = (f"the largest node has {big['cpus']:g} CPUs, {big['gpus']:g} GPUs, {big['memory_gb']:.0f} GB"
                 if big else "the cluster has no live nodes")
        need = f"{t.cpus:g} CPUs, {t.gpus:g} GPUs" + (f", {t.memory_gb:g} GB" if t.memory_gb else "")
        raise CadreError(f"specialist {t.name} asks for {need}, which no node of the cluster has ({offer}); "
                         f"nothing was started")
