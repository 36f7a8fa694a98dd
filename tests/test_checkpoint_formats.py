"""``--teacher-checkpoint NAME:PATH``: checkpoint formats are plugins, chosen by their prefix."""

import json

import pytest
import torch
from click.testing import CliRunner

from akdgbench import Dataset, UsageError, hookimpl, plugins
from akdgbench.checkpoint_formats import CheckpointFormat, split_checkpoint_spec
from akdgbench.cli import cli
from akdgbench.plugins import make
from akdgbench.teachers import Teacher, load_teacher_checkpoint


class Digits16(Dataset):
    name = "digits16"
    channels = 1

    @property
    def resolution(self):
        return 16


class Fixed(CheckpointFormat):
    """A format whose file is a text naming a seed: the teacher is the architecture's
    generator initialised from it (no discriminator)."""

    name = "seeded"
    description = "test: a generator initialised from the seed in the file"

    def load(self, path, dataset, teacher_arch):
        torch.manual_seed(int(path.read_text()))
        return Teacher(teacher_arch.build_generator(dataset.resolution, dataset.channels),
                       no_discriminator_reason=f"{path} names a seed only")


class FormatPlugin:
    __name__ = "FormatPlugin"

    @hookimpl
    def register_checkpoint_formats(self, register):
        register(Fixed)


@pytest.fixture
def format_plugin():
    plugins.pm.register(FormatPlugin(), name="format-test-plugin")
    try:
        yield
    finally:
        plugins.pm.unregister(name="format-test-plugin")


def test_hook_register_checkpoint_formats(format_plugin, tmp_path):
    (tmp_path / "seed.txt").write_text("7")
    arch = make("architecture", "dcgan:width=0.1", role="teacher")
    teacher = load_teacher_checkpoint(f"seeded:{tmp_path / 'seed.txt'}", Digits16("."), arch)
    torch.manual_seed(7)
    expected = arch.build_generator(16, 1).state_dict()
    assert all(torch.equal(teacher.generator.state_dict()[k], v) for k, v in expected.items())
    with pytest.raises(UsageError, match="seed.txt names a seed only"):
        teacher.require_discriminator("ssgc")

    listed = json.loads(CliRunner().invoke(cli, ["plugins", "--json"]).output)
    entry = next(plugin for plugin in listed if plugin["name"] == "format-test-plugin")
    assert entry["registered"] == {"checkpoint format": ["seeded"]}


def test_builtin_mimicry_is_listed():
    listed = json.loads(CliRunner().invoke(cli, ["plugins", "--json"]).output)
    registered = {kind: names for plugin in listed
                  for kind, names in plugin["registered"].items()}
    assert "mimicry" in registered["checkpoint format"]


def test_unknown_prefix_lists_the_known_ones(format_plugin, tmp_path):
    with pytest.raises(UsageError, match=r"unknown teacher checkpoint prefix 'mimicri:' \(known "
                                         r"prefixes: mimicry:, seeded:; or a plain path"):
        split_checkpoint_spec(f"mimicri:{tmp_path}/netG.pth")


def test_plain_paths_stay_plain(tmp_path, monkeypatch):
    assert split_checkpoint_spec(str(tmp_path / "g.pt")) == (None, tmp_path / "g.pt")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "run:1").mkdir()
    (tmp_path / "run:1" / "g.pt").write_text("")
    assert split_checkpoint_spec("run:1/g.pt")[0] is None  # an existing file wins over a prefix
    assert split_checkpoint_spec("C:/teachers/g.pt")[0] is None  # a drive letter is no prefix
    checkpoint_format, path = split_checkpoint_spec("mimicry:~/netG.pth")
    assert checkpoint_format.name == "mimicry" and path == path.expanduser()
