"""Data-parallel LoRA training under torchrun (WORLD_SIZE > 1); a no-op otherwise.

Every rank reads the same data and draws the same seeded stream of micro-batches of
`training.batch_size` rows; each rank trains on its share of every micro-batch (rows
rank, rank + N, ...), and DDP averages the gradients. The loss of each share is scaled
so that the average is the token mean over the whole micro-batch, so the global batch
(batch_size x gradient_accumulation_steps) and the result match a single-device run of
the same spec: N GPUs make a step faster, not different. Only rank 0 evaluates, exports
and writes; the others wait at a barrier. Launching: launch_command / relaunch.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from cadre.errors import CadreError

STATUS_ENV = "CADRE_DDP_STATUS"  # folder where ranks leave their one-line error for the launcher
TIMEOUT_ENV = "CADRE_DDP_TIMEOUT_MIN"


@dataclass(frozen=True)
class World:
    """This process's place in the run: rank 0 of 1 when not launched by torchrun."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.size > 1


def is_distributed() -> bool:
    """True under torchrun (or any launcher setting WORLD_SIZE) with more than one process."""
    return world_size() > 1


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


@contextmanager
def session() -> Iterator[World]:
    """Join the process group for the block (nccl on this rank's GPU, else gloo), then leave."""
    if not is_distributed():
        yield World()
        return
    import torch
    import torch.distributed as dist

    # rank 0 evaluates the baseline while the others wait: allow a long wait at a barrier
    timeout = timedelta(minutes=float(os.environ.get(TIMEOUT_ENV, "180")))
    if torch.cuda.is_available():
        if local_rank() >= torch.cuda.device_count():
            raise CadreError(f"LOCAL_RANK {local_rank()} but only {torch.cuda.device_count()} CUDA device(s)")
        torch.cuda.set_device(local_rank())  # "cuda" now means this rank's GPU
        dist.init_process_group("nccl", timeout=timeout, device_id=torch.device("cuda", local_rank()))
    else:
        dist.init_process_group("gloo", timeout=timeout)
    world = World(dist.get_rank(), dist.get_world_size(), local_rank(), dist.get_backend())
    try:
        yield world
    finally:
        dist.destroy_process_group()


def barrier(world: World) -> None:
    if world.active:
        import torch.distributed as dist

        dist.barrier()


def main_only(world: World, fn):
    """Run `fn` on rank 0 only; every rank leaves together. An error on rank 0 ends that
    process, and torchrun then stops the ranks waiting here."""
    out = fn() if world.is_main else None
    barrier(world)
    return out


def wrap(model, world: World):
    """The model as DDP for the training loop (the PEFT model itself when not distributed)."""
    if not world.active:
        return model
    import torch
    from torch.nn.parallel import DistributedDataParallel as DDP

    ids = [torch.cuda.current_device()] if world.backend == "nccl" else None
    return DDP(model, device_ids=ids)  # every LoRA weight is used: no unused-parameter search


def shard(rows: list, world: World) -> list:
    """This rank's rows of one global micro-batch (rank, rank + N, ...)."""
    return rows[world.rank::world.size]


def all_sum(values: list[float], world: World) -> list[float]:
    """Element-wise sum of `values` over the ranks (the values themselves when alone)."""
    if not world.active:
        return values
    import torch
    import torch.distributed as dist

    dev = f"cuda:{torch.cuda.current_device()}" if world.backend == "nccl" else "cpu"
    t = torch.tensor(values, dtype=torch.float64, device=dev)
    dist.all_reduce(t)
    return t.tolist()


# ----------------------------------------------------------------------------- launching
def cuda_devices() -> int:
    """CUDA devices on this machine (0 without CUDA)."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def process_count(gpus: float, nproc: int | None, cuda_devices: int) -> int:
    """How many training processes a run gets: --nproc when given, else the spec's
    resources.gpus when more than one; one-line errors when the machine falls short."""
    if nproc is not None:
        n = nproc
    elif gpus > 1:
        if not float(gpus).is_integer():
            raise CadreError(f"resources.gpus {gpus}: more than one GPU must be a whole number")
        n = int(gpus)
    else:
        return 1
    if n > 1 and cuda_devices and n > cuda_devices:
        raise CadreError(f"{n} training processes asked for but this machine has {cuda_devices} "
                         f"CUDA device(s); pass --nproc {cuda_devices} (or --nproc 1)")
    if n > 1 and not cuda_devices and nproc is None:
        raise CadreError(f"the spec asks for {n} GPUs (resources.gpus) and this machine has none; "
                         f"pass --nproc 1 to train on the CPU")
    return n


def launch_command(spec_name_or_path: str, gpus: int, extra_args: list[str] = ()) -> list[str]:
    """The argv of a data-parallel run: `torchrun --standalone --nproc_per_node=N -m
    cadre.cli.main specialist run SPEC ...`, through this interpreter's torch so no PATH
    lookup can pick another environment's torchrun."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={int(gpus)}",
            "-m", "cadre.cli.main", "specialist", "run", str(spec_name_or_path), *extra_args]


def relaunch(spec_name_or_path: str, nproc: int, extra_args: list[str]) -> None:
    """Run the specialist under torchrun and wait; a rank's CadreError comes back as this
    process's one-line error with the same exit code (torchrun itself only says 1)."""
    with tempfile.TemporaryDirectory(prefix="cadre-ddp-") as status:
        env = {**os.environ, STATUS_ENV: status}
        env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
        rc = subprocess.run(launch_command(spec_name_or_path, nproc, extra_args), env=env, check=False).returncode
        errors = sorted(Path(status).glob("rank*.json"), key=lambda p: int(p.stem[4:]))
        if errors:
            first = json.loads(errors[0].read_text(encoding="utf-8"))
            exc = CadreError(first["message"])
            exc.exit_code = first["exit_code"]
            raise exc
    if rc != 0:
        raise CadreError(f"torchrun with {nproc} processes exited with code {rc}; the log above names the rank")


def report_error(exc: CadreError) -> bool:
    """Under relaunch(), leave this rank's error for the launcher. True when the process
    may exit 0: a missed gate is raised on rank 0 after the last barrier, so no rank is
    left waiting, and a zero exit keeps torchrun's failure summary out of the log."""
    folder = os.environ.get(STATUS_ENV)
    if not (folder and is_distributed()):
        return False
    from cadre.errors import GateFailed
    from cadre.fsutil import atomic_write_json

    atomic_write_json(Path(folder) / f"rank{rank()}.json", {"exit_code": exc.exit_code, "message": str(exc)})
    return isinstance(exc, GateFailed)
