import pytest
import torch
from PIL import Image

from akdgbench.builtin.datasets import _images
from akdgbench.builtin.datasets.folder import ImageFolder
from akdgbench.dataset import TensorImages
from akdgbench.errors import UsageError
from akdgbench.plugins import make


@pytest.fixture
def image_tree(tmp_path):
    """Four images (RGB, grayscale, RGBA, JPEG; square and not) in nested folders, and clutter."""
    root = tmp_path / "images"
    (root / "nested" / "deeper").mkdir(parents=True)
    Image.new("RGB", (40, 30), (255, 0, 0)).save(root / "red.png")
    Image.new("L", (20, 20), 128).save(root / "nested" / "gray.PNG")
    Image.new("RGBA", (24, 24), (0, 0, 255, 128)).save(root / "nested" / "deeper" / "blue.png")
    Image.new("RGB", (33, 17), (0, 255, 0)).save(root / "nested" / "green.jpg", quality=95)
    (root / "notes.txt").write_text("not an image")
    (root / "._red.png").write_bytes(b"macOS resource fork, not a PNG")
    return root


def test_finds_images_recursively_and_skips_clutter(image_tree):
    found = _images.find_images("test", image_tree)
    assert [path.removeprefix(str(image_tree)) for path in found] == [
        "/red.png", "/nested/gray.PNG", "/nested/green.jpg", "/nested/deeper/blue.png",
    ]


@pytest.mark.parametrize(("channels", "size"), [(3, 16), (1, 16), (3, 32)])
def test_images_come_out_square_in_range(image_tree, channels, size):
    dataset = make("dataset", f"folder:path={image_tree}:size={size}:channels={channels}",
                   data_root="unused")
    train = dataset.train_set()
    assert isinstance(train, TensorImages)
    assert train.images.shape == (4, channels, size, size)
    assert train.images.dtype == torch.float32
    assert train.images.min() >= -1 and train.images.max() <= 1
    assert dataset.channels == channels and dataset.resolution == size
    assert dataset.reference_set() is train


def test_colours_survive_loading(image_tree):
    images = ImageFolder("unused", path=str(image_tree), size="8").train_set().images
    red = images[0]
    assert torch.allclose(red[0], torch.tensor(1.0)) and torch.allclose(red[1:], torch.tensor(-1.0))
    gray = images[1]  # grayscale repeated on R, G and B
    assert torch.allclose(gray, torch.tensor(128 / 127.5 - 1), atol=1e-6)


def test_centre_crop_keeps_the_middle_square(tmp_path):
    strip = Image.new("RGB", (30, 10))
    for x0, colour in ((0, (255, 0, 0)), (10, (0, 255, 0)), (20, (0, 0, 255))):
        strip.paste(colour, (x0, 0, x0 + 10, 10))
    strip.save(tmp_path / "strip.png")
    image = ImageFolder("unused", path=str(tmp_path), size="10").train_set().images[0]
    assert torch.equal(image[1], torch.ones(10, 10))  # all green
    assert torch.equal(image[0], -torch.ones(10, 10)) and torch.equal(image[2], -torch.ones(10, 10))


def test_large_folders_are_decoded_lazily_with_the_same_values(image_tree, monkeypatch):
    in_memory = ImageFolder("unused", path=str(image_tree), size="16").train_set()
    monkeypatch.setattr(_images, "MAX_IN_MEMORY_BYTES", 0)
    lazy = ImageFolder("unused", path=str(image_tree), size="16").train_set()
    assert isinstance(lazy, _images.ImageFiles) and len(lazy) == 4
    assert torch.equal(torch.stack([lazy[i] for i in range(4)]), in_memory.images)


def test_loaded_once_per_instance(image_tree):
    dataset = ImageFolder("unused", path=str(image_tree), size="8")
    assert dataset.train_set() is dataset.train_set()


def test_a_corrupt_image_is_named(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG but not really")
    dataset = ImageFolder("unused", path=str(tmp_path), size="8")
    with pytest.raises(UsageError, match="cannot read image .*broken.png"):
        dataset.train_set()


def test_no_path_is_a_usage_error():
    with pytest.raises(UsageError, match="give the image directory, e.g. folder:path=DIR"):
        make("dataset", "folder:size=32", data_root="unused")


def test_missing_directory_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="image directory .*nowhere' does not exist"):
        make("dataset", f"folder:path={tmp_path / 'nowhere'}", data_root="unused")


def test_a_file_instead_of_a_directory_is_a_usage_error(image_tree):
    with pytest.raises(UsageError, match="red.png' is not a directory"):
        make("dataset", f"folder:path={image_tree / 'red.png'}", data_root="unused")


def test_a_directory_without_images_is_a_usage_error(tmp_path):
    (tmp_path / "readme.txt").write_text("no pictures here")
    dataset = make("dataset", f"folder:path={tmp_path}", data_root="unused")
    with pytest.raises(UsageError, match="no images .* found under"):
        dataset.train_set()


@pytest.mark.parametrize(
    ("options", "message"),
    [(":channels=2", "channels=2 must be 3 .* or 1"), (":size=-4", "size=-4 must be a positive"),
     (":size=big", "size='big' is not a valid int")],
)
def test_bad_options_are_usage_errors(image_tree, options, message):
    with pytest.raises(UsageError, match=message):
        make("dataset", f"folder:path={image_tree}{options}", data_root="unused")
