"""aifdepth: reproduction package for AiFDepthNet (ICCV 2021)."""

import os

# OpenCV only reads EXR (DefocusNet depth) when this is set before cv2 is imported.
os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")

__version__ = "0.1.0"
