"""Where models run: the GPU when there is one, unless a device is named."""

import platform

import torch


def pick_device(requested: str | None = None) -> str:
    return requested or ("cuda" if torch.cuda.is_available() else "cpu")


def synchronise(device: str) -> None:
    """Wait for queued GPU work, so wall-clock timings include it."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def device_name(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
