import io
import pickle
import re
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from akdgbench.builtin.datasets import _images
from akdgbench.builtin.datasets.lsun_bedroom import LMDBImages, LSUNBedroom
from akdgbench.dataset import TensorImages
from akdgbench.errors import UsageError
from akdgbench.plugins import make
from akdgbench.run_settings import resolve_settings


def jpeg_bytes(colour, size=(48, 32)):
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


@pytest.fixture
def bedroom_folder(tmp_path):
    folder = tmp_path / "bedrooms"
    folder.mkdir()
    for index, colour in enumerate([(200, 30, 30), (30, 200, 30), (30, 30, 200)]):
        (folder / f"{index:04d}.jpg").write_bytes(jpeg_bytes(colour))
    return folder


def test_declares_the_paper_defaults():
    assert LSUNBedroom.options == {"size": 64, "path": "", "reference_images": 50_000}
    assert LSUNBedroom.channels == 3
    assert LSUNBedroom.default_feature_extractor == "inception-v3-compat"
    assert LSUNBedroom.reference_split == "train"
    assert LSUNBedroom("unused").resolution == 64
    assert LSUNBedroom("unused", size="128").resolution == 128


def test_reads_a_folder_of_images(bedroom_folder):
    dataset = make("dataset", f"lsun-bedroom:path={bedroom_folder}:size=16", data_root="unused")
    train = dataset.train_set()
    assert isinstance(train, TensorImages)
    assert train.images.shape == (3, 3, 16, 16) and train.images.dtype == torch.float32
    assert train.images.min() >= -1 and train.images.max() <= 1
    assert train.images[0, 0].mean() > 0.4 and train.images[0, 1].mean() < -0.4  # the red one
    assert dataset.reference_set() is train


def test_the_reference_is_the_first_images_of_the_training_set(bedroom_folder):
    dataset = make("dataset", f"lsun-bedroom:path={bedroom_folder}:size=8:reference_images=2",
                   data_root="unused")
    reference, train = dataset.reference_set(), dataset.train_set()
    assert len(train) == 3 and len(reference) == 2
    assert torch.equal(torch.stack([reference[0], reference[1]]), train.images[:2])
    everything = make("dataset", f"lsun-bedroom:path={bedroom_folder}:size=8:reference_images=0",
                      data_root="unused")
    assert everything.reference_set() is everything.train_set()


def test_a_negative_reference_count_is_refused(tmp_path):
    with pytest.raises(UsageError, match="reference_images must be >= 0"):
        make("dataset", "lsun-bedroom:reference_images=-1", data_root=tmp_path)


def test_missing_export_says_what_to_download_where_and_the_path_option(tmp_path):
    dataset = LSUNBedroom(tmp_path)
    with pytest.raises(UsageError) as caught:
        dataset.train_set()
    message = str(caught.value)
    assert "\n" not in message
    assert "bedroom_train_lmdb.zip" in message
    assert str(tmp_path / "lsun" / "bedroom_train_lmdb" / "data.mdb") in message
    assert "lsun-bedroom:path=DIR" in message


def test_a_missing_path_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        make("dataset", f"lsun-bedroom:path={tmp_path / 'nowhere'}", data_root=tmp_path)


def test_without_lmdb_installed_the_export_is_a_usage_error(tmp_path, monkeypatch):
    export = tmp_path / "lsun" / "bedroom_train_lmdb"
    export.mkdir(parents=True)
    (export / "data.mdb").write_bytes(b"")
    monkeypatch.setitem(sys.modules, "lmdb", None)  # makes `import lmdb` raise ImportError
    with pytest.raises(UsageError, match=r"needs the lmdb package: pip install 'akdgbench\[lsun"):
        LSUNBedroom(tmp_path).train_set()


@pytest.fixture
def bedroom_export(tmp_path):
    lmdb = pytest.importorskip("lmdb")
    export = tmp_path / "lsun" / "bedroom_train_lmdb"
    export.parent.mkdir()
    colours = [(220, 20, 20), (20, 220, 20), (20, 20, 220), (128, 128, 128)]
    values = {f"{index:040x}".encode(): jpeg_bytes(c, (40, 60)) for index, c in enumerate(colours)}
    environment = lmdb.open(str(export), map_size=1 << 24)
    with environment.begin(write=True) as txn:
        for key, value in values.items():
            txn.put(key, value)
    environment.close()
    return tmp_path, values


def test_reads_the_lmdb_export(bedroom_export):
    data_root, values = bedroom_export
    dataset = LSUNBedroom(data_root, size="16")
    train = dataset.train_set()
    assert isinstance(train, LMDBImages) and len(train) == 4
    assert dataset.train_set() is train
    for index, value in enumerate(values.values()):
        image = train[index]
        assert image.shape == (3, 16, 16) and image.dtype == torch.float32
        assert torch.equal(image, _images.load_image(io.BytesIO(value), 16, 3))


def test_the_lmdb_reference_is_the_first_keys_in_order(bedroom_export):
    data_root, values = bedroom_export
    dataset = LSUNBedroom(data_root, size="8", reference_images="3")
    reference = dataset.reference_set()
    assert len(reference) == 3
    for index, value in enumerate(list(values.values())[:3]):  # the keys sort as inserted
        assert torch.equal(reference[index], _images.load_image(io.BytesIO(value), 8, 3))


def test_the_lmdb_reader_survives_pickling_for_spawned_workers(bedroom_export):
    data_root, _values = bedroom_export
    train = LSUNBedroom(data_root, size="8").train_set()
    first = train[0]
    copy = pickle.loads(pickle.dumps(train))
    assert torch.equal(copy[0], first)


def test_two_readers_and_forked_workers_share_the_export(bedroom_export):
    data_root, _values = bedroom_export
    first = LSUNBedroom(data_root, size="8").train_set()
    second = LSUNBedroom(data_root, size="8").train_set()  # LMDB refuses a second open
    expected = torch.stack([first[i] for i in range(4)])
    assert torch.equal(torch.stack([second[i] for i in range(4)]), expected)
    loader = DataLoader(second, batch_size=4, num_workers=1, multiprocessing_context="fork")
    assert torch.equal(next(iter(loader)), expected)


def test_keys_ending_in_nul_are_kept_exactly(tmp_path):
    lmdb = pytest.importorskip("lmdb")
    export = tmp_path / "export"
    environment = lmdb.open(str(export), map_size=1 << 24)
    with environment.begin(write=True) as txn:
        txn.put(b"key\0", jpeg_bytes((10, 10, 10)))
    environment.close()
    images = LMDBImages(export, 8)
    assert images[0].shape == (3, 8, 8)


def test_an_empty_export_is_a_usage_error(tmp_path):
    lmdb = pytest.importorskip("lmdb")
    export = tmp_path / "lsun" / "bedroom_train_lmdb"
    export.parent.mkdir()
    lmdb.open(str(export), map_size=1 << 20).close()
    with pytest.raises(UsageError, match="holds no images"):
        LSUNBedroom(tmp_path).train_set()


README = Path(__file__).parents[3] / "README.md"


def reproduction_section() -> str:
    text = README.read_text()
    start = text.index("## Reproducing the paper")
    return text[start:text.index("\n## ", start + 1)]


@pytest.mark.parametrize(("role", "family"), [("student", "dcgan"), ("teacher", "sngan")])
def test_the_lsun_suite_networks_have_the_layers_and_parameters_the_readme_states(role, family):
    settings = resolve_settings("paper-lsun-bedroom", {})
    dataset = make("dataset", settings.dataset[0], data_root="unused")
    preset = getattr(settings, f"{role}_presets").get(family, "")
    arch = make("architecture", f"{family}:{preset}" if preset else family, role=role)
    generator = arch.build_generator(dataset.resolution, dataset.channels)
    params = sum(parameter.numel() for parameter in generator.parameters())
    stated = re.search(rf"LSUN {role}: (\d+) layers, ([\d,]+) parameters",
                       reproduction_section())
    assert stated, f"README's 'Reproducing the paper' does not state the LSUN {role}'s size"
    assert (generator.layer_count, params) == (int(stated[1]), int(stated[2].replace(",", "")))
