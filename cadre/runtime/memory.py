"""Memory: device budgets (explicit, or automatic from free RAM/VRAM), measuring what a
load really took (RSS difference on the CPU, `torch.cuda.memory_allocated` difference on
a GPU), and human-readable sizes.
"""
from __future__ import annotations

from cadre.config import parse_size
from cadre.errors import CadreError
from cadre.runtime.errors import BudgetError

AUTO_RAM_FRACTION = 0.8   # leave room for the process itself and the OS
AUTO_VRAM_FRACTION = 0.9


def resolve_device(name: str = "auto") -> str:
    """auto → cuda:0 when CUDA is available, else cpu; `cuda` → cuda:0."""
    if name == "remote":
        return name
    if name == "auto":
        import torch

        return "cuda:0" if torch.cuda.is_available() else "cpu"
    return "cuda:0" if name == "cuda" else name


def require_device(name: str) -> None:
    """A CUDA device asked for by name must exist here; say so in one line when it does not."""
    if name.startswith("cuda"):
        import torch

        index = int(name.split(":")[1]) if ":" in name else 0
        if not torch.cuda.is_available() or index >= torch.cuda.device_count():
            raise CadreError(f"device {name!r} asked for, but there is no CUDA device {index} here "
                             f"(torch sees {torch.cuda.device_count()}); use 'cpu' or 'auto'")


def auto_budget(device: str) -> int:
    """A budget from what is free now: 80% of available RAM, or 90% of free VRAM."""
    if device == "cpu":
        import psutil

        return int(psutil.virtual_memory().available * AUTO_RAM_FRACTION)
    import torch

    index = int(device.split(":")[1]) if ":" in device else 0
    free, _ = torch.cuda.mem_get_info(index)
    return int(free * AUTO_VRAM_FRACTION)


def parse_budgets(spec) -> dict[str, int | str]:
    """`2GB`, `auto`, or {cpu: 2GB, cuda: auto} → {device: bytes or "auto"}."""
    if spec is None or spec == "auto":
        return {"*": "auto"}
    if isinstance(spec, dict):
        return {("cuda:0" if d == "cuda" else d): (v if v == "auto" else _size(v)) for d, v in spec.items()}
    return {"*": _size(spec)}


def _size(value) -> int:
    try:
        return parse_size(value)
    except ValueError as exc:
        raise CadreError(f"memory budget: {exc}") from None


class Meter:
    """Bytes in use on one device, read before and after a load."""

    def __init__(self, device: str):
        self.device = device

    def read(self) -> int:
        """Current bytes: process RSS on the CPU, allocated CUDA memory on a GPU."""
        if self.device.startswith("cuda"):
            import torch

            return int(torch.cuda.memory_allocated(self.device))
        if self.device == "remote":
            return 0
        import psutil

        return int(psutil.Process().memory_info().rss)


def give_back_freed_memory() -> None:
    """Return freed heap pages to the OS (glibc's malloc_trim), so RSS follows unloads."""
    global _LIBC
    if _LIBC is None:
        import ctypes
        import ctypes.util

        try:
            _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _LIBC.malloc_trim  # noqa: B018 - missing outside glibc
        except (OSError, AttributeError):
            _LIBC = False
    if _LIBC:
        _LIBC.malloc_trim(0)


_LIBC = None


def human(n: float | None) -> str:
    """12.3 MB style sizes; '-' for unknown."""
    if n is None:
        return "-"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} B"


def check_smallest(slots, need, budget) -> None:
    """A budget smaller than every model on its device can never serve: say so at start.
    `need(slot)`: the bytes a load adds; `budget(device)`: the device's budget."""
    by_device: dict[str, list] = {}
    for slot in slots:
        if slot.device != "remote" and slot.estimate:
            by_device.setdefault(slot.device, []).append(slot)
    for device, group in by_device.items():
        smallest = min(group, key=need)
        if need(smallest) > budget(device):
            raise BudgetError(f"the {device} memory budget {human(budget(device))} is smaller than the "
                              f"smallest model ({smallest.spec.name}, ~{human(need(smallest))}); "
                              f"raise --memory-budget")
