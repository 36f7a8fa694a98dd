"""The plugin manager: built-ins, entry points, and a directory of loose plugin files.

Built-ins are ordinary plugins registered from ``BUILTIN_PLUGINS``. Installed
packages plug in through the ``akdgbench`` entry-point group;
``AKDGBENCH_LOAD_PLUGINS=a,b`` loads only those (empty: none).
``AKDGBENCH_PLUGINS_DIR`` or ``--plugins-dir`` (default ``./plugins``) loads
every ``.py`` file there. ``AKDGBENCH_TRACE_HOOKS=1`` prints every hook call.
A cell that runs in another process loads the same plugins as the process
that planned it (:class:`PluginSelection`).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pluggy

from akdgbench import hookspecs
from akdgbench.errors import UsageError
from akdgbench.registry import Registry
from akdgbench.specs import parse_spec

BUILTIN_PLUGINS = (
    "akdgbench.builtin.methods.vanilla",
    "akdgbench.builtin.methods.mse",
    "akdgbench.builtin.methods.lit",
    "akdgbench.builtin.methods.akdg",
    "akdgbench.builtin.methods.feature_kd",
    "akdgbench.builtin.methods.tinygan",
    "akdgbench.builtin.methods.ssgc",
    "akdgbench.builtin.methods.dcd",
    "akdgbench.builtin.archs.sngan",
    "akdgbench.builtin.archs.dcgan",
    "akdgbench.builtin.archs.mlp",
    "akdgbench.builtin.datasets.mnist5k",
    "akdgbench.builtin.datasets.cifar10",
    "akdgbench.builtin.datasets.lsun_bedroom",
    "akdgbench.builtin.datasets.folder",
    "akdgbench.builtin.extractors.digits",
    "akdgbench.builtin.extractors.inception",
    "akdgbench.builtin.executors.local",
    "akdgbench.builtin.executors.submitit_executor",
    "akdgbench.builtin.checkpoint_formats.mimicry",
)

ENTRY_POINT_GROUP = "akdgbench"
ENTRY_POINT_SOURCE = "entry point"
DEFAULT_PLUGINS_DIR = "plugins"

# kind -> the registration hook that fills it
REGISTRATION_HOOKS = {
    "method": "register_methods",
    "architecture": "register_architectures",
    "dataset": "register_datasets",
    "feature extractor": "register_feature_extractors",
    "executor": "register_executors",
    "checkpoint format": "register_checkpoint_formats",
}

pm = pluggy.PluginManager("akdgbench")
pm.add_hookspecs(hookspecs)
plugin_sources: dict[str, str] = {}
_loaded_dirs: set[Path] = set()


def _register(module: Any, name: str, source: str) -> None:
    if pm.get_plugin(name) is not None or pm.is_registered(module):
        return
    pm.register(module, name=name)
    plugin_sources[name] = source


def _load_builtins() -> None:
    for module_name in BUILTIN_PLUGINS:
        _register(importlib.import_module(module_name), module_name, "builtin")


def _allowed_entry_points() -> set[str] | None:
    """The names ``AKDGBENCH_LOAD_PLUGINS`` allows; None allows every installed plugin."""
    wanted = os.environ.get("AKDGBENCH_LOAD_PLUGINS")
    if wanted is None and getattr(sys, "_called_from_test", False):
        return set()  # tests see built-ins only, whatever is installed
    return None if wanted is None else {w.strip() for w in wanted.split(",") if w.strip()}


def _load_entry_points() -> None:
    _load_allowed_entry_points(_allowed_entry_points())


def _load_allowed_entry_points(allowed: set[str] | None) -> None:
    """Load the installed plugins named in ``allowed`` (entry-point or distribution name)."""
    if allowed is not None and not allowed:
        return
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist_name = entry_point.dist.name if entry_point.dist else ""
        if allowed is not None and entry_point.name not in allowed and dist_name not in allowed:
            continue
        try:
            module = entry_point.load()
        except Exception as exc:  # a broken third-party package must not hide the others
            raise UsageError(
                f"plugin {entry_point.name!r} from {dist_name or '?'} failed to load: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        _register(module, entry_point.name, f"{ENTRY_POINT_SOURCE} ({dist_name or '?'})")


def load_plugins_dir(directory: str | Path) -> list[str]:
    """Import every ``*.py`` in ``directory`` as a plugin; returns the plugin names."""
    directory = Path(directory).expanduser()
    if not directory.is_dir():
        raise UsageError(f"plugins directory {str(directory)!r} does not exist")
    directory = directory.resolve()
    if directory in _loaded_dirs:
        return []
    _loaded_dirs.add(directory)
    names = []
    for path in sorted(directory.glob("*.py")):
        module_name = f"akdgbench_plugins_dir.{path.stem}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            _loaded_dirs.discard(directory)
            raise UsageError(
                f"plugin file {path} failed to import: {type(exc).__name__}: {exc}"
            ) from exc
        _register(module, path.stem, f"plugins dir ({path})")
        names.append(path.stem)
    return names


def load_default_plugins_dir() -> None:
    directory = os.environ.get("AKDGBENCH_PLUGINS_DIR")
    if directory:
        load_plugins_dir(directory)
    elif Path(DEFAULT_PLUGINS_DIR).is_dir() and not getattr(sys, "_called_from_test", False):
        load_plugins_dir(DEFAULT_PLUGINS_DIR)


@dataclass(frozen=True)
class PluginSelection:
    """The plugins beyond the built-ins that a process loaded.

    A cell may run in another process or on another machine (submitit,
    SLURM); it carries the selection of the process that planned it, and
    :func:`load_selection` makes the worker see the same plugins.
    """

    entry_points: tuple[str, ...] = ()
    plugins_dirs: tuple[str, ...] = ()


def loaded_plugins() -> PluginSelection:
    """What this process loaded: its entry-point plugins and its plugins directories."""
    return PluginSelection(
        entry_points=tuple(
            sorted(
                name
                for name, source in plugin_sources.items()
                if source.startswith(ENTRY_POINT_SOURCE) and pm.get_plugin(name) is not None
            )
        ),
        plugins_dirs=tuple(sorted(str(directory) for directory in _loaded_dirs)),
    )


def load_selection(selection: PluginSelection) -> None:
    """Load exactly the entry-point plugins and the directories of ``selection``."""
    for name, _plugin in list(pm.list_name_plugin()):
        source = plugin_sources.get(name, "")
        if source.startswith(ENTRY_POINT_SOURCE) and name not in selection.entry_points:
            pm.unregister(name=name)
    missing = {name for name in selection.entry_points if pm.get_plugin(name) is None}
    if missing:
        _load_allowed_entry_points(missing)
    if not_installed := sorted(name for name in missing if pm.get_plugin(name) is None):
        raise UsageError(
            f"plugin(s) {', '.join(not_installed)} planned this run but are not installed "
            f"where its cells run ({socket.gethostname()})"
        )
    for directory in selection.plugins_dirs:
        load_plugins_dir(directory)


def _enable_tracing() -> None:
    if os.environ.get("AKDGBENCH_TRACE_HOOKS"):
        pm.trace.root.setwriter(lambda text: sys.stderr.write(text))
        pm.enable_tracing()


_load_builtins()
_load_entry_points()
_enable_tracing()


def get_registry(kind: str) -> Registry:
    """Every object of ``kind`` registered by the plugins now loaded, with provenance."""
    registry = Registry(kind)
    hook = getattr(pm.hook, REGISTRATION_HOOKS[kind])
    for impl in hook.get_hookimpls():  # registration order

        def register(obj: Any, name: str | None = None, _plugin: str = impl.plugin_name,
                     **details: Any) -> None:
            registry.register(obj, name, plugin=_plugin, **details)

        impl.function(register=register)
    return registry


def get(kind: str, name: str) -> Any:
    return get_registry(kind).get(name)


def make(kind: str, spec: str, **arguments: Any) -> Any:
    """The plugin object that ``spec`` names: ``make("architecture", "dcgan:width=0.25")``.

    ``arguments`` go to its class beside the spec's options: what the kind needs
    (an architecture's ``role``, a data set's ``data_root``) or defaults the spec
    may override (an executor's ``folder``).
    """
    parsed = parse_spec(spec)
    return get(kind, parsed.name)(**{**arguments, **parsed.options})


def train_step_reporter(cell: Any) -> Callable[[int, dict[str, float]], None]:
    """The engine's ``on_log`` callback, bound to the ``on_train_step`` hook for ``cell``
    (None while a teacher trains)."""

    def on_log(step: int, losses: dict[str, float]) -> None:
        pm.hook.on_train_step(cell=cell, step=step, losses=losses)

    return on_log


def plugin_source(plugin_name: str) -> str:
    return plugin_sources.get(plugin_name, "registered in code")


def describe_plugins() -> list[dict[str, Any]]:
    """One entry per plugin: its name, where it came from, its hooks, and what it registered."""
    registered: dict[str, dict[str, list[str]]] = {}
    for kind in REGISTRATION_HOOKS:
        for entry in get_registry(kind).entries():
            registered.setdefault(entry.plugin, {}).setdefault(kind, []).append(entry.name)
    out = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda item: item[0]):
        hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])
        out.append(
            {
                "name": name,
                "source": plugin_source(name),
                "hooks": hooks,
                "registered": registered.get(name, {}),
            }
        )
    return out
