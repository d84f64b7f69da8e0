"""The Serve config of `cadre serve --ray`: one application, two deployments.

`serve_config` returns the dict that both the local run deploys and a KubeRay
`RayService` embeds as `serveConfigV2` (`cadre serve --ray --print-config` prints it).
Secrets never enter it: the API key reaches the replicas as `$CADRE_API_KEY`.
"""
from __future__ import annotations

import dataclasses

APP_NAME = "cadre"
IMPORT_PATH = "cadre.server.scale.app:build"
INGRESS = "CadreIngress"
MODELS = "CadreModels"
# Models that stay in the ingress process: routers and encoders decide the route, so they
# answer on the request's own path; generative local models move to the model deployment.
IN_PROCESS_CAPABILITIES = {"intent_classification", "embedding", "vision_captioning"}


def serve_config(project, config_path: str | None, host: str, port: int, server: dict) -> dict:
    """The Serve config for a project: `config_path` is where the replicas read the project
    file (None: the built-in default), `server` the app's settings (no secrets)."""
    scale = project.scale
    return {
        "proxy_location": "EveryNode",
        "http_options": {"host": host, "port": port},
        "applications": [{
            "name": APP_NAME,
            "route_prefix": "/",
            "import_path": IMPORT_PATH,
            "args": {"config": config_path, **server},
            "deployments": [deployment_entry(INGRESS, scale.ingress), deployment_entry(MODELS, scale.models)],
        }],
    }


def deployment_entry(name: str, scale) -> dict:
    """One deployment's options in Serve's config schema."""
    entry: dict = {"name": name, "max_ongoing_requests": scale.max_ongoing_requests,
                   "ray_actor_options": {"num_cpus": scale.num_cpus}}
    if scale.autoscaling is not None:
        a = scale.autoscaling
        entry["autoscaling_config"] = {"min_replicas": a.min_replicas, "max_replicas": a.max_replicas,
                                       "target_ongoing_requests": a.target_ongoing_requests}
    else:
        entry["num_replicas"] = scale.replicas
    return entry


def server_args(settings, queue_size: int | None, memory_budget: str | None, log_level: str = "info",
                max_models: int | None = None) -> dict:
    """The app's settings as Serve args: ServerSettings without the API keys, and the
    engine's overrides."""
    fields = {k: list(v) if isinstance(v, tuple) else v
              for k, v in dataclasses.asdict(settings).items() if k != "api_keys"}
    return {"settings": fields, "queue_size": queue_size, "memory_budget": memory_budget,
            "log_level": log_level, "max_models_per_replica": max_models}


def load_project(args: dict):
    """The project of a replica: its file (or the default), with the command's overrides."""
    from cadre.config import RuntimeSettings, find_config

    project = find_config(args.get("config"))
    update = {}
    if args.get("queue_size") is not None:
        update["max_queue"] = args["queue_size"]
    if args.get("memory_budget") is not None:
        RuntimeSettings(memory_budget=args["memory_budget"])  # the CLI has checked it already
        update["memory_budget"] = args["memory_budget"]
    if update:
        project = project.model_copy(update={"runtime": project.runtime.model_copy(update=update)})
    return project


def hosted(spec, project) -> bool:
    """Whether a registry model is served by the model deployment (a local generative
    model) rather than in the ingress."""
    from cadre.runtime.backends.identity import loads_here

    caps = {c.value for c in spec.capabilities}
    return (loads_here(spec) and bool(spec.path) and spec.name != project.router.model
            and not caps & IN_PROCESS_CAPABILITIES)
