from akdgbench.builtin.datasets.cifar10 import CIFAR10
from akdgbench.builtin.datasets.folder import ImageFolder
from akdgbench.builtin.datasets.lsun_bedroom import LSUNBedroom
from akdgbench.builtin.datasets.mnist5k import MNIST5k
from akdgbench.plugins import get, get_registry


def test_the_four_builtin_datasets_are_registered_by_their_modules():
    entries = {entry.name: entry for entry in get_registry("dataset").entries()}
    expected = {
        "mnist5k": (MNIST5k, "akdgbench.builtin.datasets.mnist5k"),
        "cifar10": (CIFAR10, "akdgbench.builtin.datasets.cifar10"),
        "lsun-bedroom": (LSUNBedroom, "akdgbench.builtin.datasets.lsun_bedroom"),
        "folder": (ImageFolder, "akdgbench.builtin.datasets.folder"),
    }
    for name, (cls, plugin) in expected.items():
        assert entries[name].obj is cls and entries[name].plugin == plugin
        assert get("dataset", name) is cls
        assert cls.description
