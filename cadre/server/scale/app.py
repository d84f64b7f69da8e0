"""The Ray Serve application: `build(args)` is the app builder Ray imports
(`import_path: cadre.server.scale.app:build`); `Ingress` runs the HTTP app.

Each ingress replica builds the same engine `cadre serve` builds, with two changes: the
hosted models (config.hosted) are `RemoteModel`s forwarding to the model deployment,
and the gateway's cool-downs are the shared board. Its decisions go to its own shard of
the decision log (`decisions-<replica>.jsonl`). Then `create_app` makes the very app
single-process `cadre serve` runs: routes, gates, headers and errors are the same code.
"""
from __future__ import annotations

import os

from ray import serve

from cadre.server.scale.config import INGRESS, MODELS, hosted, load_project
from cadre.server.scale.models import ModelHost

METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"


def build(args: dict, deployments: list[dict] | None = None):
    """The application: the ingress bound to the model deployment. `deployments` are
    Serve config entries (name, replicas, autoscaling, actor options) applied here when
    deploying from Python; a RayService applies its config's own entries."""
    options = {d["name"]: {k: v for k, v in d.items() if k != "name"} for d in deployments or ()}
    models = serve.deployment(ModelHost, name=MODELS, **options.get(MODELS, {})).bind(args)
    return serve.deployment(Ingress, name=INGRESS, **options.get(INGRESS, {})).bind(models, args)


@serve.ingress()
class Ingress:
    """One ingress replica: an engine of its own, generation through the model deployment."""

    def __init__(self, models, args: dict):
        self.models, self.args = models, args

    def __serve_build_asgi_app__(self):
        from cadre.server.app import create_app
        from cadre.server.settings import ServerSettings, api_keys_from

        fields = {k: tuple(v) if isinstance(v, list) else v for k, v in self.args["settings"].items()}
        settings = ServerSettings(api_keys=api_keys_from(None), **fields)
        self.engine = ingress_engine(self.args, self.models)
        app = create_app(self.engine, settings)
        if os.environ.get(METRICS_DIR_ENV):
            from cadre.server.workers import start_gauge_refresh

            start_gauge_refresh(app)  # every replica's gauges in the shared metrics folder
        return app

    def __del__(self):
        engine = getattr(self, "engine", None)
        if engine is not None:
            engine.close()


def ingress_engine(args: dict, models_handle):
    """The engine of an ingress replica (see the module's docstring)."""
    from cadre.runtime.engine import Engine
    from cadre.runtime.gateway.decisions import DecisionLog
    from cadre.runtime.manager import ModelManager
    from cadre.runtime.registry import Registry
    from cadre.server.scale import remote
    from cadre.server.scale.shared import SharedCooldowns, board

    remote.register()
    remote.RemoteModel.handle = models_handle
    project = load_project(args)
    registry = Registry.from_config(project)
    for spec in registry:
        if hosted(spec, project):
            registry.add(spec.replace(backend=remote.BACKEND_NAME, options={}, quantization=None, memory_mb=None), replace=True)
    engine = Engine(project, manager=ModelManager.from_config(project, registry),
                    local_images=args["settings"].get("local_images"))
    gateway = engine.gateway
    gateway.cooldowns = SharedCooldowns(board(project.gateway))
    if gateway.log is not None:
        replica = serve.get_replica_context().replica_tag
        gateway.log.close()
        gateway.log = DecisionLog(gateway.log.base, gateway.log.log_prompts, gateway.log.max_bytes,
                                  gateway.log.keep, shard=replica)
    snapshot = engine.metrics_snapshot
    engine.metrics_snapshot = lambda: {**snapshot(), "remote_retries": remote.RemoteModel.retries}
    return engine
