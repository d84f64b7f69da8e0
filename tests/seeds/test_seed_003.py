"""Seed 003 ("Auto-Router Training"): its own files and snippets, only the import lines
changed. The seed's `hf_evaluations_*.json` (a JSON list of {idx, prompt, answer, images,
model_scores}, images as base64) go straight into `cadre router fit-learned` /
`eval-learned`; `model_router.ModelRouter` is `cadre.routing.learned.model_router.ModelRouter`.

The data: three models with the seed's names. `gpt-5-chat` answers everything; the VL
model answers the rows with an image; the 9B model answers arithmetic. With the seed's
costs the cheapest right model is the VL model for images, the 9B model for arithmetic
and gpt-5-chat for the rest.
"""
from __future__ import annotations

import base64
import io
import json
import random
import subprocess
import sys

import pytest

GPT, VL, NANO = "gpt-5-chat", "nvidia/nemotron-nano-12b-v2-vl", "nvidia/nvidia-nemotron-nano-9b-v2"
THINGS = ["the French revolution", "photosynthesis", "jazz harmony", "the stock market", "black holes",
          "medieval castles", "machine learning", "the Roman empire", "volcanoes", "climate change"]
COLOURS = [(220, 30, 30), (30, 160, 40), (40, 60, 220), (240, 200, 20), (120, 40, 160)]


def png_base64(rng: random.Random) -> str:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (64, 64), rng.choice(COLOURS))
    ImageDraw.Draw(img).ellipse((rng.randint(0, 20), rng.randint(0, 20), 50, 60), fill=rng.choice(COLOURS))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def seed_rows(n: int, seed: int) -> list[dict]:
    """Rows in the seed's "Custom Datasets" format."""
    rng, rows = random.Random(seed), []
    for idx in range(n):
        kind = idx % 3
        if kind == 0:
            prompt, images = rng.choice(["What is shown in this image?", "Describe this picture.",
                                         "What objects are in this image?"]), [png_base64(rng)]
        elif kind == 1:
            a, b = rng.randint(2, 99), rng.randint(2, 99)
            prompt, images = rng.choice([f"What is {a} plus {b}?", f"Compute {a} times {b}.",
                                         f"Calculate {a} minus {b}."]), []
        else:
            prompt, images = rng.choice(["Explain {t} in detail.", "Write an essay about {t}.",
                                         "What are the open questions about {t}?"]).format(t=rng.choice(THINGS)), []
        rows.append({"idx": idx, "prompt": prompt, "answer": "reference answer", "images": images,
                     "model_scores": {GPT: 1, VL: int(kind == 0), NANO: int(kind == 1)}})
    return rows


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    """`cadre router fit-learned --data hf_evaluations_train.json` on the seed's JSON list."""
    root = tmp_path_factory.mktemp("seed003")
    (root / "hf_evaluations_train.json").write_text(json.dumps(seed_rows(60, 0), indent=2))
    (root / "hf_evaluations_test.json").write_text(json.dumps(seed_rows(30, 1), indent=2))
    fit = subprocess.run([sys.executable, "-m", "cadre.cli.main", "router", "fit-learned",
                          "--data", "hf_evaluations_train.json", "--output", "router_artifacts",
                          "--folds", "3", "--threads", "1"],
                         capture_output=True, text=True, cwd=root, timeout=600)
    assert fit.returncode == 0, fit.stderr[-2000:]
    assert "read hf_evaluations_train.json: 60/60 rows kept (no problems)" in fit.stdout, fit.stdout
    return root


def test_fit_learned_reads_the_seed_json_list_with_base64_images(artifacts):
    meta = json.loads((artifacts / "router_artifacts" / "cadre.json").read_text())
    assert sorted(meta["models"]) == sorted([GPT, VL, NANO]) and meta["train_rows"] == 60
    out = subprocess.run([sys.executable, "-m", "cadre.cli.main", "router", "eval-learned", "router_artifacts",
                          "--data", "hf_evaluations_test.json", "--json", "--threads", "1"],
                         capture_output=True, text=True, cwd=artifacts, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    report = json.loads(out.stdout)
    assert report["bad_rows"]["bad_images"] == 0 and report["oracle_accuracy"] == 1.0
    assert report["accuracy"] >= 0.9  # the seed's "Router system accuracy"


def test_a_seed_list_that_is_not_json_is_one_clear_error(tmp_path):
    (tmp_path / "hf_evaluations_train.json").write_text('[{"idx": 0, "prompt": "hi",')
    out = subprocess.run([sys.executable, "-m", "cadre.cli.main", "router", "fit-learned", "--data",
                          "hf_evaluations_train.json", "--output", "r"], capture_output=True, text=True,
                         cwd=tmp_path, timeout=300)
    assert out.returncode == 2 and out.stderr.startswith("error: ") and "not a JSON list" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_model_router_snippets(artifacts, monkeypatch):
    monkeypatch.chdir(artifacts)
    from cadre.routing.learned.model_router import ModelRouter

    # seed 003, "Stage 4: Production Usage"
    router = ModelRouter(
        router_path="router_artifacts/nn_router.pth",
        model_thresholds={'gpt-5-chat': 0.70},
        device='cuda'
    )

    # Route a query
    model = router.route(
        text="Explain quantum computing",
        images=None
    )
    assert model in (GPT, VL, NANO)

    # seed 003, `router_usage_examples.py`, with its "Cost-Based Selection" costs
    router = ModelRouter(
        router_path="router_artifacts/nn_router.pth",
        model_thresholds={
            'gpt-5-chat': 0.70,
            'nvidia/nemotron-nano-12b-v2-vl': 0.55,
            'nvidia/nvidia-nemotron-nano-9b-v2': 0.50,
        },
        model_costs={
            'gpt-5-chat': 1.0,              # Most expensive
            'nvidia/nemotron-nano-12b-v2-vl': 0.3,
            'nvidia/nvidia-nemotron-nano-9b-v2': 0.1,  # Cheapest
        },
        verbose=True
    )

    # Text-only routing
    model = router.route("What is the capital of France?")
    print(f"Selected: {model}")
    assert model == GPT  # only gpt-5-chat answers such prompts

    # Multimodal routing
    model = router.route(
        text="What objects are in this image?",
        images=["data:image/png;base64," + png_base64(random.Random(7))]
    )
    print(f"Selected: {model}")
    assert model == VL  # the cheapest model that reaches its threshold on images
    assert router.route("What is 12 plus 30?") == NANO

    # "Out of Memory During Training: Or train on CPU"
    router = ModelRouter(device='cpu')
    # no thresholds or costs given: the artifact's own operating point decides
    from cadre.routing.learned.router import LearnedRouter
    assert router.route("Compute 7 times 8.") == LearnedRouter("router_artifacts").route("Compute 7 times 8.").name


def test_learned_router_takes_device_and_refuses_a_bad_one(artifacts):
    from cadre.errors import CadreError
    from cadre.routing.learned.router import LearnedRouter

    assert LearnedRouter(artifacts / "router_artifacts", device="cpu").device == "cpu"
    with pytest.raises(CadreError, match="device must be auto, cpu or cuda"):
        LearnedRouter(artifacts / "router_artifacts", device="gpu")
