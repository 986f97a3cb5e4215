"""Our rendered stacks against another renderer's of the same scenes (the authors' Middlebury_FS,
rendered with Barron et al. 2015's method): slice by slice PSNR, scene by scene, and the scenes
both hold, so a model can be scored on each renderer's stacks alike."""

from dataclasses import replace

import cv2
import numpy as np

from .errors import InputError
from .metrics import psnr
from .stackfile import FocalStacks


def common_scenes(ours: FocalStacks, theirs: FocalStacks) -> list[str]:
    shared = [name for name in ours.names if name in theirs.names]
    if not shared:
        raise InputError(
            f"no scene in both stack files (ours: {ours.names[:5]}..., theirs: {theirs.names[:5]}...); "
            "compare stacks of the same scenes"
        )
    return shared


def only(stacks: FocalStacks, names: list[str]) -> FocalStacks:
    """The samples of `names`, in that order."""
    index = [stacks.names.index(name) for name in names]
    aif = None if stacks.aif is None else stacks.aif[index]
    return replace(
        stacks, stack=stacks.stack[index], focus=stacks.focus[index], depth=stacks.depth[index], names=names, aif=aif
    )


def slice_psnr(ours: FocalStacks, theirs: FocalStacks) -> dict[str, list[float]]:
    """Scene -> the PSNR (dB) of each of our slices against theirs at the same focus. Their
    slices are resized to ours (area averaging) where the renders differ in size."""
    result = {}
    for name in common_scenes(ours, theirs):
        a, b = ours.names.index(name), theirs.names.index(name)
        if ours.focus[a].shape != theirs.focus[b].shape or not np.allclose(ours.focus[a], theirs.focus[b]):
            raise InputError(
                f"scene {name}: the stacks focus at {np.round(ours.focus[a], 3).tolist()} and "
                f"{np.round(theirs.focus[b], 3).tolist()}; compare stacks of the same focus positions"
            )
        height, width = ours.stack.shape[2:4]
        result[name] = [
            psnr(mine, cv2.resize(other, (width, height), interpolation=cv2.INTER_AREA))
            for mine, other in zip(ours.stack[a], theirs.stack[b])
        ]
    return result
