"""Seed 003's production interface, `ModelRouter(...).route(text, images) -> model name`,
as a thin alias over `LearnedRouter` (which returns a RouteChoice with the reason).

    router = ModelRouter("runs/learned", model_thresholds={"gpt-5-chat": 0.70},
                         model_costs={"gpt-5-chat": 1.0}, device="cpu")
    router.route("Explain quantum computing")                      # "gpt-5-chat"
    router.route("What is in this image?", images=["data:image/png;base64,..."])

`router_path` is a `cadre router fit-learned` folder (default `router_artifacts`, the
seed's); a seed path to a file inside it (`router_artifacts/nn_router.pth`) or a `.pth`
beside a folder of the same stem names that folder. Thresholds switch to the threshold rule: the cheapest model (by
`model_costs`, else the learned costs) whose P(correct) reaches its threshold; models
without a threshold keep the artifact's.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

from cadre.routing.learned.router import LearnedRouter


class ModelRouter:
    """Seed 003's `ModelRouter`: `route(text, images=None)` returns the chosen model's name."""

    def __init__(self, router_path: str | Path = "router_artifacts", model_thresholds: dict[str, float] | None = None,
                 model_costs: dict[str, float] | None = None, device: str = "cpu", verbose: bool = False):
        self.verbose = verbose
        self.router = LearnedRouter(_artifact_folder(router_path), thresholds=model_thresholds or None,
                                    costs=model_costs, device=device)
        self.last = None  # the last RouteChoice: score, every model's P and the reason

    @property
    def model_names(self) -> list[str]:
        """The models the router chooses among, in training order."""
        return list(self.router.labels)

    def route(self, text: str, images: Sequence | None = None) -> str:
        """The model to send this prompt (and its images: paths, base64 or data URLs) to."""
        self.last = self.router.route(text, list(images) if images else None)
        if self.verbose:
            print(f"{self.last.name}: {self.last.reason}")
        return self.last.name


def _artifact_folder(path: str | Path) -> Path:
    """The fit-learned folder a seed path names."""
    path = Path(path)
    if path.is_file():
        return path.parent
    stem = Path(re.sub(r"\.(pth|pt|bin|joblib)$", "", str(path)))
    if not path.exists() and stem.is_dir():
        return stem
    if not path.exists() and path.parent.is_dir() and (path.parent / "cadre.json").is_file():
        return path.parent
    return path
