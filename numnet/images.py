"""Turning a photo or scan of a handwritten digit into an MNIST-style 28×28 input.

MNIST's digits were made by fitting each digit into a 20×20 box (keeping its aspect ratio, with
anti-aliasing) and placing it in a 28×28 field so that its centre of mass sits in the middle, as
light ink (1) on a dark background (0). ``prepare_digit`` does the same to any grayscale picture:
it finds the background from the border, inverts a light background, removes paper texture, crops
to the ink, fits it into 20×20 and centres it by mass.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from pathlib import Path
from typing import Union

import numpy as np
from numpy.typing import ArrayLike

#: intensity (0..1, after normalising) below which a pixel counts as background, not ink
INK_THRESHOLD = 0.25
#: the most pixels an image may have to be decoded (a 50-megapixel photo passes): a small file can hold a
#: huge picture, and decoding one takes about 20 bytes of memory per pixel
MAX_PIXELS = 50_000_000
#: the fewest pixels along each side: the paper's colour is read from the border
MIN_SIDE = 2


def load_image(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read any image Pillow understands (PNG, JPEG, ...) as a 2-D float32 array in [0, 1].

    Raises ValueError, naming the file, when it is missing, not an image Pillow reads, damaged, smaller
    than MIN_SIDE pixels along a side, or larger than ``max_pixels`` pixels (checked from its header,
    before it is decoded; None leaves only Pillow's own limit).
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"{path}: no such image file")
    if not path.is_file():
        raise ValueError(f"{path}: not an image file (a folder, device or pipe, not a regular file)")
    return _read_grayscale(path, str(path), max_pixels)


def decode_image(data: Union[bytes, bytearray, memoryview], source: str = "image", max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """``load_image`` for an encoded image held in memory (the bytes of a PNG, JPEG, ... file)."""
    return _read_grayscale(io.BytesIO(bytes(data)), source, max_pixels)


def _open_lazily(file, source, max_pixels):
    """Pillow's Image for ``file``, its header read and nothing decoded yet. Pillow's own check against
    decompression bombs (a warning above Image.MAX_IMAGE_PIXELS, an error above twice that) becomes the
    same clear error as ours."""
    from PIL import Image, UnidentifiedImageError

    try:
        # catch_warnings is process-wide: for this moment another thread's bomb warning is an error too, as wanted
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(file)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        found = re.search(r"\((\d+) pixels\)", str(error))
        count = f"{int(found.group(1)):,} pixels" if found else "more pixels than Pillow decodes"
        limit = min(max_pixels, Image.MAX_IMAGE_PIXELS) if max_pixels is not None else Image.MAX_IMAGE_PIXELS
        raise ValueError(f"{source}: the image has {count}, more than the {limit:,} allowed; scale it down") from None
    except UnidentifiedImageError:
        raise ValueError(f"{source}: cannot read the image (not a PNG, JPEG or other format Pillow reads)") from None
    except Exception as error:  # Pillow's format readers raise many kinds of error on damaged headers
        raise ValueError(f"{source}: cannot read the image ({type(error).__name__}: {error})") from None


def _read_grayscale(file, source, max_pixels=MAX_PIXELS):
    """Open ``file`` (a path or a binary file object) with Pillow: EXIF rotation applied, transparent
    pixels turned to white paper, as a 2-D float32 array in [0, 1]."""
    from PIL import Image, ImageOps

    with _open_lazily(file, source, max_pixels) as image:
        width, height = image.size
        if max_pixels is not None and width * height > max_pixels:
            raise ValueError(f"{source}: the image has {width}×{height} = {width * height:,} pixels, more than the {max_pixels:,} allowed; scale it down")
        if min(width, height) < MIN_SIDE:
            raise ValueError(f"{source}: the image is only {width}×{height} pixels; a digit needs at least {MIN_SIDE}×{MIN_SIDE}")
        try:
            image = ImageOps.exif_transpose(image)
            if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                background = Image.new("RGBA", image.size, (255, 255, 255, 255))
                image = Image.alpha_composite(background, image.convert("RGBA"))
            pixels = np.asarray(image.convert("L"), dtype=np.float32) / 255
        except Exception as error:  # a damaged file fails while decoding, with whatever error its reader raises
            raise ValueError(f"{source}: cannot read the image ({type(error).__name__}: {error})") from None
    return pixels


def prepare_digit(gray: ArrayLike, source: str = "image") -> np.ndarray:
    """Turn a 2-D grayscale array (any size, any polarity, values in [0, 1]) into a (28, 28) float32 MNIST-style digit.

    Raises ValueError when the picture holds no ink (blank or uniform).
    """
    from PIL import Image

    gray = np.asarray(gray, dtype=np.float32)
    if gray.ndim != 2:
        raise ValueError(f"{source}: expected a 2-D grayscale image, got an array of shape {gray.shape}")
    if min(gray.shape) < MIN_SIDE:
        height, width = gray.shape
        raise ValueError(f"{source}: the image is only {width}×{height} pixels; a digit needs at least {MIN_SIDE}×{MIN_SIDE}")
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    background = float(np.median(border))
    if background > 0.5:  # dark ink on light paper: MNIST is light on dark
        gray, background = 1 - gray, 1 - background
    contrast = float(gray.max()) - background
    if contrast < 0.1:
        raise ValueError(f"{source}: no digit found (the image is blank or has too little contrast)")
    ink = np.clip((gray - background) / contrast, 0, 1)
    ink = np.clip((ink - INK_THRESHOLD) / (1 - INK_THRESHOLD), 0, 1)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]

    height, width = ink.shape
    scale = 20 / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = np.asarray(Image.fromarray(ink).resize(size, Image.Resampling.LANCZOS), dtype=np.float32)
    small = np.clip(small, 0, 1)

    # place it so that the centre of mass lands on the centre of the 28×28 field
    total = small.sum()
    if total <= 0:
        raise ValueError(f"{source}: no digit found after resizing (the ink is too faint or too thin)")
    com_y = (small.sum(axis=1) * np.arange(small.shape[0])).sum() / total
    com_x = (small.sum(axis=0) * np.arange(small.shape[1])).sum() / total
    top = int(np.clip(round(13.5 - com_y), 0, 28 - small.shape[0]))
    left = int(np.clip(round(13.5 - com_x), 0, 28 - small.shape[1]))
    digit = np.zeros((28, 28), dtype=np.float32)
    digit[top : top + small.shape[0], left : left + small.shape[1]] = small
    return digit


def load_digit(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """``prepare_digit(load_image(path))``: a file on disk to a (28, 28) float32 digit in [0, 1]."""
    return prepare_digit(load_image(path, max_pixels), source=str(path))


def decode_digit(data: Union[bytes, bytearray, memoryview], source: str = "image", max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """``prepare_digit(decode_image(data))``: the bytes of an image file to a (28, 28) float32 digit in [0, 1]."""
    return prepare_digit(decode_image(data, source, max_pixels), source=source)
