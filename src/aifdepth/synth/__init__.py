"""Offline stand-ins for the depth-from-focus datasets: procedural textured scenes and their light fields.

The scenes are what make depth from focus non-trivial: slanted and fronto-parallel
planes, occluders with sharp depth edges, weakly textured regions and varied
natural-looking textures, rendered with true parallax and occlusion.
"""

from aifdepth.synth.scene import Scene, Surface, random_scene, render_lightfield, render_view
from aifdepth.synth.textures import TEXTURE_KINDS, natural_texture

__all__ = ["TEXTURE_KINDS", "Scene", "Surface", "natural_texture", "random_scene", "render_lightfield", "render_view"]
