"""Reading user images safely: any common mode to RGB, with size and decompression-bomb guards."""

from __future__ import annotations

import io
import os
import stat
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from glass_core.errors import BadInputError

MAX_FILE_BYTES = 20 * 1024 * 1024  # an upload larger than this is refused before decoding
MAX_PIXELS = 40_000_000  # about 6300 x 6300; larger claims are treated as decompression bombs
WORK_SIDE = 1024  # what CLIP sees is 224 px: keep at most this much of a huge picture


def _too_big(size: int, limit: int) -> BadInputError:
    return BadInputError(f"The image file is {size / 2**20:.0f} MB; the limit is {limit // 2**20} MB.")


def read_bounded(path: str | Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """A regular file's bytes, checked before reading (no FIFO, device or file over `limit`), read once.

    The type and size come from stat first, so /dev/zero or a FIFO is never opened for reading;
    the open itself does not block (O_NONBLOCK), fstat checks the file that was opened, and the
    read stops at limit + 1 bytes whatever the file grows to meanwhile.
    """
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise BadInputError(f"{path}: not a regular file.")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise BadInputError(f"{path}: no such file.") from None
    except OSError as err:
        raise BadInputError(f"{path}: cannot read it ({err.strerror or err}).") from None
    except ValueError:  # a NUL byte in the name
        raise BadInputError(f"{str(path)!r}: not a valid file name.") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise BadInputError(f"{path}: not a regular file.")
        if info.st_size > limit:
            raise _too_big(info.st_size, limit)
        data = f.read(limit + 1)
    if len(data) > limit:
        raise _too_big(len(data), limit)
    return data


def open_image(source: str | Path | bytes | Image.Image) -> Image.Image:
    """A path, bytes or PIL image as an RGB PIL image, or one clear BadInputError."""
    if isinstance(source, Image.Image):
        return to_rgb(source)
    data = read_bounded(source) if isinstance(source, (str, Path)) else bytes(source)
    if len(data) > MAX_FILE_BYTES:
        raise _too_big(len(data), MAX_FILE_BYTES)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            if img.width * img.height > MAX_PIXELS:
                raise BadInputError(f"The image is {img.width}×{img.height} pixels; the limit is {MAX_PIXELS:,} pixels.")
            img.load()
    except BadInputError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise BadInputError(f"This file is not an image glass can read ({type(err).__name__}).") from err
    except (OSError, SyntaxError, ValueError) as err:
        raise BadInputError(f"The image is corrupt or truncated ({err}).") from err
    return to_rgb(img)


def to_rgb(img: Image.Image) -> Image.Image:
    """Grey, 16-bit, palette, RGBA, CMYK … to 8-bit RGB, honouring EXIF rotation."""
    img = ImageOps.exif_transpose(img)
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) / (hi - lo) * 255 if hi > lo else np.zeros_like(arr)
        img = Image.fromarray(arr.astype(np.uint8), mode="L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)  # transparent parts on white
    img = img.convert("RGB")
    if max(img.size) > WORK_SIDE:
        img.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.LANCZOS)
    return img
