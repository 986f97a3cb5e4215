"""Readers of the five datasets' real on-disk formats (plus the RGB-D training set)."""

from ..errors import InputError
from .base import Dataset, Sample
from .ddff import DDFF
from .defocusnet import DefocusNet
from .hci import HCI
from .middlebury import RGBD, Middlebury
from .mobiledepth import MobileDepth

DATASETS: dict[str, type[Dataset]] = {cls.name: cls for cls in (HCI, DDFF, DefocusNet, Middlebury, MobileDepth, RGBD)}


def open_dataset(name: str, root, **options) -> Dataset:
    if name not in DATASETS:
        raise InputError(f"unknown dataset '{name}'; choose one of {sorted(DATASETS)}")
    return DATASETS[name](root, **options)


__all__ = ["DATASETS", "Dataset", "Sample", "open_dataset"]
