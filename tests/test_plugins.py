"""The plugin system, in the manner of simonw/llm and datasette."""

import re
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner

from akdgbench import Method, hookimpl, hookspecs, plugins
from akdgbench.cli import cli
from akdgbench.errors import UsageError
from akdgbench.results import RunStore

DOCS = Path(__file__).parent.parent / "docs" / "plugins.md"
HOOK_NAMES = sorted(
    name for name in dir(hookspecs)
    if name.startswith(("register_", "on_")) and callable(getattr(hookspecs, name))
)


class Distil(Method):
    name = "test-distil"
    options = {"alpha": 0.5}


class InlinePlugin:
    __name__ = "InlinePlugin"

    @hookimpl
    def register_methods(self, register):
        register(Distil)


@pytest.fixture
def inline_plugin():
    plugins.pm.register(InlinePlugin(), name="inline-test-plugin")
    try:
        yield
    finally:
        plugins.pm.unregister(name="inline-test-plugin")


# --- every hook is documented and tested (datasette's rule) ------------------------


@pytest.mark.parametrize("hook", HOOK_NAMES)
def test_every_hook_is_documented(hook):
    assert re.search(rf"^### {hook}\(", DOCS.read_text(), re.MULTILINE), f"{hook} lacks docs"


@pytest.mark.parametrize("hook", HOOK_NAMES)
def test_every_hook_has_a_test(hook):
    tests = "\n".join(p.read_text() for p in Path(__file__).parent.rglob("test_*.py"))
    assert re.search(rf"def test_hook_{hook}\b", tests), f"{hook} has no test_hook_{hook}"


def test_every_hook_has_a_docstring():
    for hook in HOOK_NAMES:
        assert getattr(hookspecs, hook).__doc__, hook


# --- the registration hooks ------------------------------------------------------------


def test_hook_register_methods(inline_plugin):
    registry = plugins.get_registry("method")
    assert {"vanilla", "mse", "lit", "akdg", "test-distil"} <= set(registry.names())
    assert [e.plugin for e in registry.entries() if e.name == "test-distil"] == [
        "inline-test-plugin"
    ]


def test_hook_register_architectures():
    assert {"sngan", "dcgan", "mlp"} <= set(plugins.get_registry("architecture").names())


def test_hook_register_datasets():
    assert {"mnist5k", "cifar10", "lsun-bedroom", "folder"} <= set(
        plugins.get_registry("dataset").names()
    )


def test_hook_register_feature_extractors():
    assert {"digits", "inception-v3-compat"} <= set(
        plugins.get_registry("feature extractor").names()
    )


def test_hook_register_executors():
    assert {"local", "submitit"} <= set(plugins.get_registry("executor").names())


def test_hook_register_commands():
    import click

    class CommandPlugin:
        __name__ = "CommandPlugin"

        @hookimpl
        def register_commands(self, cli):
            @cli.command(name="hello-test")
            def hello():
                click.echo("hello from a plugin")

    plugins.pm.register(CommandPlugin(), name="command-plugin")  # adds it: the hook is historic
    try:
        result = CliRunner().invoke(cli, ["hello-test"])
        assert result.exit_code == 0, result.output
        assert "hello from a plugin" in result.output
    finally:
        plugins.pm.unregister(name="command-plugin")
        cli.commands.pop("hello-test", None)


# --- loading ----------------------------------------------------------------------------


def test_builtins_register_like_third_party_plugins():
    described = {p["name"]: p for p in plugins.describe_plugins()}
    for module in plugins.BUILTIN_PLUGINS:
        assert described[module]["source"] == "builtin"
        assert described[module]["registered"], f"{module} registered nothing"


def test_duplicate_name_names_both_plugins(inline_plugin):
    class Clash:
        __name__ = "Clash"

        @hookimpl
        def register_methods(self, register):
            register(Distil)

    plugins.pm.register(Clash(), name="clash-plugin")
    try:
        with pytest.raises(UsageError, match="inline-test-plugin.*clash-plugin"):
            plugins.get_registry("method")
    finally:
        plugins.pm.unregister(name="clash-plugin")


def test_plugins_dir_loads_loose_files(tmp_path):
    (tmp_path / "my_method.py").write_text(textwrap.dedent('''
        from akdgbench import Method, hookimpl

        class Mine(Method):
            name = "dir-method"

        @hookimpl
        def register_methods(register):
            register(Mine)
    '''))
    try:
        result = CliRunner().invoke(cli, ["--plugins-dir", str(tmp_path), "plugins"])
        assert result.exit_code == 0, result.output
        assert "my_method  [plugins dir" in result.output
        assert "method: dir-method" in result.output
    finally:
        plugins.pm.unregister(name="my_method")
        plugins._loaded_dirs.discard(tmp_path.resolve())


LOOSE_COMMAND = """
import click

from akdgbench import hookimpl


@hookimpl
def register_commands(cli):
    @cli.command(name="loose-hello")
    def loose_hello():
        \"\"\"Say hello from a loose plugin file.\"\"\"
        click.echo("hello from a loose file")
"""


@pytest.fixture
def loose_command_dir(tmp_path):
    (tmp_path / "loose_command.py").write_text(LOOSE_COMMAND)
    try:
        yield tmp_path
    finally:
        plugins.pm.unregister(name="loose_command")
        plugins._loaded_dirs.discard(tmp_path.resolve())
        cli.commands.pop("loose-hello", None)


@pytest.mark.parametrize("order", ["dir-first", "help-first"])
def test_loose_command_from_plugins_dir_is_in_help(loose_command_dir, order):
    dir_args = ["--plugins-dir", str(loose_command_dir)]
    args = [*dir_args, "--help"] if order == "dir-first" else ["--help", *dir_args]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "loose-hello" in result.output
    assert "Say hello from a loose plugin file." in result.output
    result = CliRunner().invoke(cli, [*dir_args, "loose-hello"])
    assert result.exit_code == 0, result.output
    assert result.output == "hello from a loose file\n"


def test_loose_command_from_environment_dir_is_in_help(loose_command_dir, monkeypatch):
    monkeypatch.setenv("AKDGBENCH_PLUGINS_DIR", str(loose_command_dir))
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0, result.output
    assert "loose-hello" in result.output
    result = CliRunner().invoke(cli, ["loose-hello"])
    assert result.output == "hello from a loose file\n"


def test_plugins_dir_from_environment(tmp_path, monkeypatch):
    (tmp_path / "env_plugin.py").write_text(
        "from akdgbench import hookimpl\n\n@hookimpl\ndef on_cell_end(cell, row):\n    pass\n"
    )
    monkeypatch.setenv("AKDGBENCH_PLUGINS_DIR", str(tmp_path))
    try:
        result = CliRunner().invoke(cli, ["plugins", "--json"])
        assert result.exit_code == 0, result.output
        assert '"env_plugin"' in result.output
    finally:
        plugins.pm.unregister(name="env_plugin")
        plugins._loaded_dirs.discard(tmp_path.resolve())


def test_broken_plugin_file_is_one_line(tmp_path):
    (tmp_path / "broken.py").write_text("import does_not_exist_anywhere\n")
    try:
        result = CliRunner().invoke(cli, ["--plugins-dir", str(tmp_path), "plugins"])
        assert result.exit_code == 2
        assert "broken.py failed to import: ModuleNotFoundError" in result.output
        assert "Traceback" not in result.output
    finally:
        plugins._loaded_dirs.discard(tmp_path.resolve())


def test_missing_plugins_dir_is_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["--plugins-dir", str(tmp_path / "nope"), "plugins"])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_worked_example_plugin_loads():
    example = Path(__file__).parent.parent / "plugins"
    try:
        plugins.load_plugins_dir(example)
        method = plugins.get("method", "l1-kd")
        assert method.needs_teacher and method.options == {"weight": 10.0}
    finally:
        plugins.pm.unregister(name="l1_kd")
        plugins._loaded_dirs.discard(example.resolve())


class _FakeEntryPoint:
    def __init__(self, name, module, dist_name):
        self.name, self._module = name, module
        self.dist = type("Dist", (), {"name": dist_name})()

    def load(self):
        return self._module


def _entry_point_module():
    module = type(sys)("fake_ep_plugin")

    @hookimpl
    def register_methods(register):
        register(Distil, name="ep-method")

    module.register_methods = register_methods
    return module


def test_entry_points_load_and_filter(monkeypatch):
    entry_point = _FakeEntryPoint("fake-ep", _entry_point_module(), "akdgbench-fake")
    monkeypatch.setattr(metadata, "entry_points", lambda group: [entry_point])
    for setting, loaded in (("akdgbench-fake", True), ("fake-ep", True), ("", False),
                            ("other", False)):
        monkeypatch.setenv("AKDGBENCH_LOAD_PLUGINS", setting)
        try:
            plugins._load_entry_points()
            assert ("ep-method" in plugins.get_registry("method")) is loaded, setting
            if loaded:
                assert plugins.plugin_source("fake-ep") == "entry point (akdgbench-fake)"
        finally:
            if plugins.pm.get_plugin("fake-ep") is not None:
                plugins.pm.unregister(name="fake-ep")


def test_tests_skip_installed_entry_points(monkeypatch):
    monkeypatch.delenv("AKDGBENCH_LOAD_PLUGINS", raising=False)
    entry_point = _FakeEntryPoint("fake-ep", _entry_point_module(), "akdgbench-fake")
    monkeypatch.setattr(metadata, "entry_points", lambda group: [entry_point])
    plugins._load_entry_points()
    assert plugins.pm.get_plugin("fake-ep") is None


def test_plugins_command_json_lists_kinds():
    import json

    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0
    described = {p["name"]: p for p in json.loads(result.output)}
    assert described["akdgbench.builtin.methods.akdg"]["registered"] == {"method": ["akdg"]}


def test_unknown_name_suggests_closest():
    with pytest.raises(UsageError, match=r"unknown method 'akgd'.*did you mean 'akdg'"):
        plugins.get("method", "akgd")


# --- plugins in every process that runs a cell ----------------------------------------------

LOOSE_METHOD = '''
from pathlib import Path

import torch.nn.functional as F

from akdgbench import Method, hookimpl


class LooseL2(Method):
    name = "loose-l2"
    needs_teacher = True

    def setup(self, ctx):
        self.d = ctx.new_discriminator("d")

    def discriminator_losses(self, step):
        return {"d": step.adv.discriminator_loss(self.d, step.real, step.fake)}

    def generator_loss(self, step):
        return {"adv": step.adv.generator_loss(self.d, step.fake),
                "l2": F.mse_loss(step.fake, step.teacher(step.z))}


@hookimpl
def register_methods(register):
    register(LooseL2)


@hookimpl
def on_cell_start(cell, cell_dir):
    Path(cell_dir, "loose-plugin-was-here").write_text(cell.method)
'''

TINY_GRID = [
    "--dataset", "mnist5k:size=16",
    "--teacher", "dcgan:width=0.125:d_width=0.125",
    "--arch", "dcgan:width=0.0625:d_width=0.125",
    "--steps", "2", "--teacher-steps", "2", "--batch-size", "16",
    "--eval-samples", "100", "--eval-batch-size", "100", "--quiet",
]


def test_loose_plugin_runs_in_submitit_job_processes(tmp_path):
    plugin_dir = tmp_path / "plugins"
    plugin_dir.mkdir()
    (plugin_dir / "loose_l2.py").write_text(LOOSE_METHOD)
    out = tmp_path / "run"
    try:
        result = CliRunner().invoke(cli, [
            "--plugins-dir", str(plugin_dir), "run", *TINY_GRID, "--methods", "loose-l2",
            "--executor", "submitit:cluster=local", "--out", str(out),
        ])
        assert result.exit_code == 0, result.output
    finally:
        plugins.pm.unregister(name="loose_l2")
        plugins._loaded_dirs.discard(plugin_dir.resolve())
    rows = {row["method"]: row for row in RunStore(out).rows()}
    assert rows["loose-l2"]["status"] == "done", rows["loose-l2"]
    cell_dir = RunStore(out).cell_dir(rows["loose-l2"]["cell_id"])
    assert (cell_dir / "loose-plugin-was-here").read_text() == "loose-l2"
    assert (out / "submitit").is_dir()  # the cells ran in job processes, not here


def test_a_worker_loads_the_entry_points_of_the_planner(monkeypatch):
    entry_point = _FakeEntryPoint("fake-ep", _entry_point_module(), "akdgbench-fake")
    monkeypatch.setattr(metadata, "entry_points", lambda group: [entry_point])
    assert plugins.loaded_plugins().entry_points == ()  # tests load no installed plugin
    try:
        plugins.load_selection(plugins.PluginSelection(entry_points=("fake-ep",)))
        assert "ep-method" in plugins.get_registry("method")
        assert plugins.loaded_plugins().entry_points == ("fake-ep",)
        plugins.load_selection(plugins.PluginSelection())  # the planner filtered it out
        assert "ep-method" not in plugins.get_registry("method")
        with pytest.raises(UsageError, match="not-here planned this run but are not installed"):
            plugins.load_selection(plugins.PluginSelection(entry_points=("not-here",)))
    finally:
        if plugins.pm.get_plugin("fake-ep") is not None:
            plugins.pm.unregister(name="fake-ep")


def test_a_worker_without_the_plugins_dir_fails_in_one_line(tmp_path):
    with pytest.raises(UsageError, match="plugins directory .* does not exist"):
        plugins.load_selection(plugins.PluginSelection(plugins_dirs=(str(tmp_path / "gone"),)))
