"""`cadre serve --ray`: the command's checks, `--print-config`, then the Ray Serve run
(cadre/server/scale/run.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from cadre.errors import CadreError


def serve_ray(project, config: Optional[Path], host: str, port: int, keys: tuple[str, ...], settings, queue_size,
              memory_budget, log_level: str, address: Optional[str], print_only: bool,
              cluster_config_path: Optional[str], workers: int) -> None:
    """Build the Serve config of a checked project, then print it or serve it."""
    import json

    from cadre.server.scale.config import serve_config, server_args

    if workers > 1:
        raise CadreError("--workers and --ray do not mix: with --ray, scale.ingress.replicas sets the processes")
    if cluster_config_path and not print_only:
        raise CadreError("--cluster-config-path only applies with --print-config")
    where = cluster_config_path or (str(config.resolve()) if config else _found_config())
    built = serve_config(project, where, host, port, server_args(settings, queue_size, memory_budget, log_level))
    if print_only:
        typer.echo(json.dumps(built, indent=2))
        return
    try:
        from ray import serve  # noqa: F401
    except ImportError as exc:
        raise CadreError(f"Ray Serve is not installed ({exc}): pip install 'cadre[serve]'") from None
    from cadre.server.scale.run import run

    run(built, address, keys)


def _found_config() -> Optional[str]:
    """The project file `find_config` would pick from here, as an absolute path (replicas
    do not share this working directory); None for the built-in default."""
    import os

    for candidate in (os.environ.get("CADRE_CONFIG"), "cadre.yaml", "information/specialized_models.json"):
        if candidate and Path(candidate).is_file():
            return str(Path(candidate).resolve())
    return None
