"""Turning a photo or scan of a handwritten digit into an MNIST-style 28×28 input.

MNIST's digits were made by fitting each digit into a 20×20 box (keeping its aspect ratio, with
anti-aliasing) and placing it in a 28×28 field so that its centre of mass sits in the middle, as
light ink (1) on a dark background (0). ``prepare_digit`` does the same to any grayscale picture:
it finds the background from the border, inverts a light background, removes paper texture, crops
to the ink, fits it into 20×20 and centres it by mass.
"""

import io
from pathlib import Path

import numpy as np

#: intensity (0..1, after normalising) below which a pixel counts as background, not ink
INK_THRESHOLD = 0.25


def load_image(path):
    """Read any image Pillow understands (PNG, JPEG, ...) as a 2-D float32 array in [0, 1]; raise ValueError if unreadable."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such image file")
    return _read_grayscale(path, str(path))


def decode_image(data, source="image", max_pixels=None):
    """``load_image`` for an encoded image held in memory (the bytes of a PNG, JPEG, ... file).

    ``max_pixels`` refuses larger images (ValueError) before decoding them: a small file can hold a huge
    picture, and a server should not decode one.
    """
    return _read_grayscale(io.BytesIO(bytes(data)), source, max_pixels)


def _read_grayscale(file, source, max_pixels=None):
    """Open ``file`` (a path or a binary file object) with Pillow: EXIF rotation applied, transparent
    pixels turned to white paper, as a 2-D float32 array in [0, 1]."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(file) as image:
            if max_pixels is not None and image.width * image.height > max_pixels:
                raise ValueError(f"{source}: the image has {image.width}×{image.height} pixels, more than the {max_pixels} allowed")
            image = ImageOps.exif_transpose(image)
            if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                background = Image.new("RGBA", image.size, (255, 255, 255, 255))
                image = Image.alpha_composite(background, image.convert("RGBA"))
            pixels = np.asarray(image.convert("L"), dtype=np.float32) / 255
    except UnidentifiedImageError:
        raise ValueError(f"{source}: cannot read the image (not a PNG, JPEG or other format Pillow reads)") from None
    except (Image.DecompressionBombError, OSError, SyntaxError) as error:
        raise ValueError(f"{source}: cannot read the image ({error})") from None
    return pixels


def prepare_digit(gray, source="image"):
    """Turn a 2-D grayscale array (any size, any polarity, values in [0, 1]) into a (28, 28) float32 MNIST-style digit.

    Raises ValueError when the picture holds no ink (blank or uniform).
    """
    from PIL import Image

    gray = np.asarray(gray, dtype=np.float32)
    if gray.ndim != 2 or min(gray.shape) < 2:
        raise ValueError(f"{source}: expected a 2-D grayscale image, got an array of shape {gray.shape}")
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


def load_digit(path):
    """``prepare_digit(load_image(path))``: a file on disk to a (28, 28) float32 digit in [0, 1]."""
    return prepare_digit(load_image(path), source=str(path))


def decode_digit(data, source="image", max_pixels=None):
    """``prepare_digit(decode_image(data))``: the bytes of an image file to a (28, 28) float32 digit in [0, 1]."""
    return prepare_digit(decode_image(data, source, max_pixels), source=source)
