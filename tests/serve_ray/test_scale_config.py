"""`cadre serve --ray` without Ray running: the project's scale: section, the Serve config
`--print-config` builds, and the KubeRay example that embeds it."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from cadre.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
KUBERAY = ROOT / "configs" / "kuberay"
# The command rayservice.yaml says it was generated with.
PRINT_ARGS = ["serve", "--ray", "--print-config", "--config", str(KUBERAY / "cadre.yaml"), "--host", "0.0.0.0",
              "--port", "8000", "--no-ui", "--allowed-host", "cadre-serve-svc", "--allowed-host", ".svc.cluster.local",
              "--cluster-config-path", "/home/ray/cadre/cadre.yaml"]


def project(tmp_path: Path, scale: str) -> Path:
    path = tmp_path / "cadre.yaml"
    path.write_text("version: 1\n" + scale + "models:\n"
                    "  - {name: smollm2, path: smollm2-135m-instruct, memory_mb: 600, capabilities: [primary_chat]}\n")
    return path


def test_the_kuberay_example_embeds_the_config_cadre_serve_ray_builds(monkeypatch):
    monkeypatch.delenv("CADRE_API_KEY", raising=False)
    result = CliRunner().invoke(app, PRINT_ARGS)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    service = yaml.safe_load((KUBERAY / "rayservice.yaml").read_text())
    assert service["apiVersion"] == "ray.io/v1" and service["kind"] == "RayService"
    embedded = yaml.safe_load(service["spec"]["serveConfigV2"])
    assert embedded == printed
    app_cfg = embedded["applications"][0]
    assert app_cfg["import_path"] == "cadre.server.scale.app:build"
    assert app_cfg["args"]["config"] == "/home/ray/cadre/cadre.yaml"
    ingress, models = app_cfg["deployments"]
    assert ingress["autoscaling_config"] == {"min_replicas": 2, "max_replicas": 8, "target_ongoing_requests": 16.0}
    assert models["num_replicas"] == 2 and models["ray_actor_options"] == {"num_cpus": 2.0}
    assert "CADRE_API_KEY" not in json.dumps(embedded)  # the key comes from the secret
    from ray.serve.schema import ServeDeploySchema

    ServeDeploySchema.model_validate(embedded)  # what KubeRay hands to Serve


def test_the_config_follows_the_scale_section_and_never_holds_the_key(tmp_path):
    path = project(tmp_path, "scale:\n  ingress: {replicas: 3}\n  models: {replicas: 2, max_models_per_replica: 4}\n")
    result = CliRunner().invoke(app, ["serve", "--ray", "--print-config", "--config", str(path),
                                      "--api-key", "sekret-123", "--port", "9100"])
    assert result.exit_code == 0, result.output
    cfg = json.loads(result.output)
    ingress, models = cfg["applications"][0]["deployments"]
    assert ingress == {"name": "CadreIngress", "max_ongoing_requests": 64, "ray_actor_options": {"num_cpus": 0.0},
                       "num_replicas": 3}
    assert models["num_replicas"] == 2
    assert cfg["http_options"] == {"host": "127.0.0.1", "port": 9100}
    assert cfg["applications"][0]["args"]["config"] == str(path.resolve())
    assert "sekret-123" not in result.output


@pytest.mark.parametrize("scale, message", [
    ("scale: {ingress: {replicas: 0}}\n", "scale.ingress.replicas"),
    ("scale: {models: {autoscaling: {min_replicas: 3, max_replicas: 2}}}\n", "min_replicas 3 is above max_replicas 2"),
    ("scale: {ingress: {num_gpus: 1}}\n", "scale.ingress.num_gpus"),
])
def test_a_bad_scale_section_is_a_one_line_error(tmp_path, scale, message):
    result = CliRunner().invoke(app, ["serve", "--ray", "--print-config", "--config", str(project(tmp_path, scale))])
    assert result.exit_code == 2 and message in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_workers_and_ray_do_not_mix(tmp_path):
    result = CliRunner().invoke(app, ["serve", "--ray", "--workers", "2", "--config", str(project(tmp_path, ""))])
    assert result.exit_code == 2 and "--workers and --ray do not mix" in result.output


def test_generative_local_models_move_to_the_model_deployment_and_routers_stay(tmp_path):
    from cadre.config import load_config
    from cadre.runtime.registry import Registry
    from cadre.server.scale.config import hosted

    path = tmp_path / "cadre.yaml"
    path.write_text("version: 1\nrouter: {model: router}\nmodels:\n"
                    "  - {name: smollm2, path: smollm2-135m-instruct, capabilities: [primary_chat]}\n"
                    "  - {name: code, path: runs/code, capabilities: [code_generation]}\n"
                    "  - {name: router, backend: onnx, path: runs/router, capabilities: [intent_classification]}\n"
                    "  - {name: picker, path: runs/picker, capabilities: [intent_classification]}\n"
                    "  - {name: big, backend: openai, url: 'http://127.0.0.1:9/v1', capabilities: [math]}\n")
    cfg = load_config(path)
    assert [s.name for s in Registry.from_config(cfg) if hosted(s, cfg)] == ["smollm2", "code"]


def test_a_model_replica_holds_what_its_budget_holds():
    from cadre.runtime.manager import ModelManager
    from cadre.runtime.registry import ModelCapability, ModelSpec, Registry
    from cadre.server.scale.models import capacity

    specs = [ModelSpec(f"m{i}", path=f"/nowhere/{i}", memory_mb=600 if i else 900,
                       capabilities=(ModelCapability.PRIMARY_CHAT,)) for i in range(4)]
    manager = ModelManager(Registry(specs), memory_budget="2GB", device="cpu")
    try:
        assert capacity(manager) == 2  # two of the largest (900 MB) fit 2 GB
    finally:
        manager.close()


def test_an_unreachable_cluster_is_a_one_line_error(tmp_path):
    result = CliRunner().invoke(app, ["serve", "--ray", "--ray-address", "127.0.0.1:1",
                                      "--config", str(project(tmp_path, ""))])
    assert result.exit_code == 2 and "--ray-address 127.0.0.1:1: cannot reach a Ray cluster there" in result.output, \
        result.output
    assert len(result.output.strip().splitlines()) == 1
