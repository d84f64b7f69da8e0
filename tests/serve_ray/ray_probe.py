"""Ask the model replicas of a running `cadre serve --ray` for their stats, as a driver
joined to its embedded Ray; prints JSON. Run in its own process: Ray reads its
loopback and token switches at import, before any other Ray use in the test process.

    python ray_probe.py ADDRESS replicas        every replica's stats (tag -> stats)
    python ray_probe.py ADDRESS holder MODEL    the stats of the replica Serve sends MODEL to
"""
from __future__ import annotations

import json
import os
import sys

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"   # the embedded Ray is on 127.0.0.1 only
os.environ["RAY_AUTH_MODE"] = "token"                    # and made a token (~/.ray/auth_token)


def main(address: str, what: str, model: str | None = None) -> dict:
    import ray
    from ray import serve

    ray.init(address=address, logging_level="ERROR", log_to_driver=False)
    try:
        handle = serve.get_deployment_handle("CadreModels", app_name="cadre")
        if what == "holder":
            return handle.options(multiplexed_model_id=model).stats.remote().result(timeout_s=60)
        seen: dict[str, dict] = {}
        for _ in range(60):  # requests without a model id spread over the replicas
            stats = handle.stats.remote().result(timeout_s=30)
            seen[stats["replica"]] = stats
            if len(seen) == 2:
                break
        return seen
    finally:
        ray.shutdown()


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:])))
