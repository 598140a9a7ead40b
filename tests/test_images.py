"""User images: every common mode becomes RGB; broken, huge or fake images get a clear refusal."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from glass_core.errors import BadInputError
from glass_core.images import MAX_PIXELS, open_image


def encoded(img: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize("img,fmt", [
    (Image.new("L", (20, 10), 100), "PNG"),
    (Image.new("RGBA", (20, 10), (255, 0, 0, 0)), "PNG"),
    (Image.new("P", (20, 10), 3), "PNG"),
    (Image.new("CMYK", (20, 10), (0, 255, 0, 0)), "JPEG"),
    (Image.fromarray(np.full((10, 20), 40000, dtype=np.uint16)), "PNG"),
])
def test_modes_become_rgb(img, fmt):
    out = open_image(encoded(img, fmt))
    assert out.mode == "RGB" and out.size == (20, 10)


def test_transparent_pixels_are_shown_on_white():
    out = open_image(encoded(Image.new("RGBA", (4, 4), (255, 0, 0, 0))))
    assert out.getpixel((0, 0)) == (255, 255, 255)


def test_not_an_image():
    with pytest.raises(BadInputError, match="not an image"):
        open_image(b"hello, I am text")


def test_truncated_image():
    data = encoded(Image.new("RGB", (64, 64), (10, 200, 30)), "JPEG")
    with pytest.raises(BadInputError, match="corrupt or truncated"):
        open_image(data[: len(data) // 2])


def test_decompression_bomb_is_refused_before_decoding():
    side = int(MAX_PIXELS ** 0.5) + 100
    bomb = encoded(Image.new("1", (side, side)), "PNG")  # tiny file, huge picture
    assert len(bomb) < 2_000_000
    with pytest.raises(BadInputError, match="pixels"):
        open_image(bomb)


def test_large_pictures_are_shrunk_for_clip():
    assert max(open_image(Image.new("RGB", (3000, 1500))).size) == 1024
