import io

import pytest
import torch
from PIL import Image

from akdgbench.builtin.datasets import _images


def test_uint8_maps_to_minus_one_and_one():
    pixels = torch.tensor([0, 255, 128], dtype=torch.uint8).view(3, 1, 1, 1).expand(3, 1, 4, 4)
    out = _images.uint8_to_unit_range(pixels.contiguous(), 4)
    assert out.dtype == torch.float32
    assert out[0].eq(-1).all() and out[1].eq(1).all()
    assert torch.allclose(out[2], torch.tensor(128 / 127.5 - 1), atol=1e-6)


def test_chunked_conversion_matches_one_pass(monkeypatch):
    pixels = torch.randint(0, 256, (7, 3, 12, 12), dtype=torch.uint8)
    whole = _images.uint8_to_unit_range(pixels, 6)
    monkeypatch.setattr(_images, "_CONVERT_CHUNK", 3)
    assert torch.equal(_images.uint8_to_unit_range(pixels, 6), whole)
    assert whole.min() >= -1 and whole.max() <= 1


def test_downscale_is_antialiased():
    # a one-pixel checkerboard averages to grey instead of aliasing to black or white
    checker = ((torch.arange(16).view(16, 1) + torch.arange(16)) % 2 * 255).to(torch.uint8)
    out = _images.uint8_to_unit_range(checker.view(1, 1, 16, 16), 4)
    assert out.abs().max() < 0.05


@pytest.mark.parametrize("channels", [1, 3])
def test_load_image_from_bytes(channels):
    buffer = io.BytesIO()
    Image.new("RGB", (50, 70), (255, 255, 255)).save(buffer, format="PNG")
    buffer.seek(0)
    image = _images.load_image(buffer, 16, channels)
    assert image.shape == (channels, 16, 16)
    assert torch.equal(image, torch.ones(channels, 16, 16))
