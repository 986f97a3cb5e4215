"""Readers of the five datasets' real on-disk formats (plus the RGB-D training set), one module
each, and their specs (`spec.SPECS`). A reader is imported only when a dataset is opened."""

from .spec import SPECS, DatasetSpec, spec_of


def open_dataset(name: str, root, **options):
    return spec_of(name).open(root, **options)


__all__ = ["SPECS", "DatasetSpec", "open_dataset", "spec_of"]
