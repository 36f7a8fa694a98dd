"""The ``akdgbench`` command line: thin click commands over the modules that do the work."""

from __future__ import annotations

import json
import os
import sys

import click

from akdgbench import __version__, plugins
from akdgbench.errors import UsageError


class AkdgbenchGroup(click.Group):
    """Turns every ``UsageError`` into one line on stderr and exit status 2."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            click.echo("Interrupted: finished results are saved; rerun the same command to resume.",
                       err=True)
            ctx.exit(130)


def _load_plugins_dir(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    try:
        if value:
            plugins.load_plugins_dir(value)
        else:
            plugins.load_default_plugins_dir()
    except UsageError as exc:
        click.echo(f"Error: {exc}", err=True)
        ctx.exit(2)
    return value


@click.group(cls=AkdgbenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="akdgbench")
@click.option("--plugins-dir", type=click.Path(file_okay=False), callback=_load_plugins_dir,
              is_eager=True, expose_value=False, envvar=None,
              help="Load every .py file in this directory as a plugin "
                   "(default: ./plugins, or $AKDGBENCH_PLUGINS_DIR).")
def cli() -> None:
    """Benchmark knowledge distillation of GANs.

    \b
    Examples:
      akdgbench run                                   # the quick suite on embedded digits
      akdgbench run --methods akdg,mse --arch sngan   # two methods, SNGAN students
      akdgbench table results/run-1 --format latex    # the paper-style table
      akdgbench plugins                               # what is installed
    """


@cli.command(name="plugins")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins_command(as_json: bool) -> None:
    """List every plugin, where it came from, and what it registered.

    \b
    Examples:
      akdgbench plugins
      akdgbench --plugins-dir my_plugins plugins --json
    """
    described = plugins.describe_plugins()
    if as_json:
        click.echo(json.dumps(described, indent=2))
        return
    for plugin in described:
        click.echo(f"{plugin['name']}  [{plugin['source']}]")
        for kind, names in sorted(plugin["registered"].items()):
            click.echo(f"    {kind}: {', '.join(names)}")
        other_hooks = [h for h in plugin["hooks"] if not h.startswith("register_")]
        if other_hooks:
            click.echo(f"    hooks: {', '.join(other_hooks)}")


plugins.pm.hook.register_commands(cli=cli)


def main() -> None:
    if os.environ.get("AKDGBENCH_DEBUG"):
        sys.tracebacklimit = 1000
    cli(prog_name="akdgbench")
