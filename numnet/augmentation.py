"""Random changes to training images, so that a few thousand digits teach like many more."""

from __future__ import annotations

from typing import Any, Dict

import numpy as np
from numpy.typing import ArrayLike

from .validation import number


class ImageAugmenter:
    """Randomly shift, rotate and add noise to a batch of images; a new draw for every batch.

    Each image is resampled at the points p' = R(θ) (p − c) + c − t (bilinear interpolation, zeros
    outside), with θ uniform in ±max_rotation degrees, t uniform in ±max_shift pixels per axis and
    c the image centre; then Gaussian noise of standard deviation ``noise`` is added and the result
    clipped to [0, 1]. Only ``fit`` applies it, and only to training batches.

    Works on (N, H, W) or (N, C, H, W) arrays of values in [0, 1]; keeps the dtype.

    Args:
        max_shift: largest shift in pixels (default 2).
        max_rotation: largest rotation in degrees (default 10).
        noise: standard deviation of the added noise (default 0).
    """

    def __init__(self, max_shift: float = 2.0, max_rotation: float = 10.0, noise: float = 0.0) -> None:
        self.max_shift, self.max_rotation, self.noise = (
            number(name, value, 0, owner="ImageAugmenter")
            for name, value in (("max_shift", max_shift), ("max_rotation", max_rotation), ("noise", noise))
        )

    def __call__(self, images: ArrayLike, rng: np.random.Generator) -> np.ndarray:
        images = np.asarray(images)
        if images.ndim not in (3, 4):
            raise ValueError(f"ImageAugmenter: expected images of shape (N, H, W) or (N, C, H, W), got {images.shape}")
        n, (height, width) = images.shape[0], images.shape[-2:]
        theta = np.deg2rad(rng.uniform(-self.max_rotation, self.max_rotation, n))
        shift = rng.uniform(-self.max_shift, self.max_shift, (n, 2))
        rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
        cy, cx = (height - 1) / 2, (width - 1) / 2
        cos, sin = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
        # where each output pixel samples the input (the inverse of rotating and shifting the image)
        src_y = cos * (rows - cy) - sin * (cols - cx) + cy - shift[:, 0, None, None]
        src_x = sin * (rows - cy) + cos * (cols - cx) + cx - shift[:, 1, None, None]
        out = self._bilinear(images.reshape(n, -1, height, width), src_y, src_x).reshape(images.shape)
        if self.noise:
            out = out + rng.normal(0, self.noise, out.shape)
        return np.clip(out, 0, 1).astype(images.dtype, copy=False)

    @staticmethod
    def _bilinear(images: np.ndarray, src_y: np.ndarray, src_x: np.ndarray) -> np.ndarray:
        """Sample images (N, C, H, W) at fractional points (N, H, W), zero outside the image."""
        n, _, height, width = images.shape
        y0, x0 = np.floor(src_y).astype(int), np.floor(src_x).astype(int)
        wy, wx = src_y - y0, src_x - x0
        batch = np.arange(n)[:, None, None]
        out = np.zeros(images.shape, dtype=np.float64)
        for dy, dx, weight in ((0, 0, (1 - wy) * (1 - wx)), (0, 1, (1 - wy) * wx), (1, 0, wy * (1 - wx)), (1, 1, wy * wx)):
            y, x = y0 + dy, x0 + dx
            inside = (y >= 0) & (y < height) & (x >= 0) & (x < width)
            values = images[batch, :, np.clip(y, 0, height - 1), np.clip(x, 0, width - 1)]  # (N, H, W, C)
            out += np.moveaxis(values * (weight * inside)[..., None], -1, 1)
        return out

    def get_config(self) -> Dict[str, Any]:
        return {"max_shift": self.max_shift, "max_rotation": self.max_rotation, "noise": self.noise}

    def __repr__(self) -> str:
        return f"ImageAugmenter(max_shift={self.max_shift}, max_rotation={self.max_rotation}, noise={self.noise})"
