"""The ``akdgbench`` command line: thin click commands over the modules that do the work."""

from __future__ import annotations

import json
import signal
import sys

import click

from akdgbench import __version__, plugins
from akdgbench.errors import UsageError
from akdgbench.run_options import run_options
from akdgbench.specs import split_specs

#: for readers of a run that holds more methods than one table should show
METHODS_FILTER = click.option(
    "--methods", default=None, metavar="LIST",
    help="Only these methods' students (names or specs, comma-separated), beside the "
    "teacher and real-data rows.",
    callback=lambda _ctx, _param, value: split_specs(value) if value else None)


class AkdgbenchGroup(click.Group):
    """Loads the plugins directory first; turns every ``UsageError`` into one line, exit 2."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # before click parses: a loose plugin's commands must exist for --help and dispatch,
        # whatever the order of --help and --plugins-dir
        try:
            directory = _plugins_dir_argument(args)
            if directory:
                plugins.load_plugins_dir(directory)
            else:
                plugins.load_default_plugins_dir()
        except UsageError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(2)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(2)
        except KeyboardInterrupt:
            click.echo(
                "Interrupted: finished results are saved; rerun the same command to resume.",
                err=True,
            )
            ctx.exit(130)


def _plugins_dir_argument(args: list[str]) -> str | None:
    """The value of ``--plugins-dir`` among the group's own options (before the command)."""
    for index, arg in enumerate(args):
        if arg == "--plugins-dir" and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith("--plugins-dir="):
            return arg.partition("=")[2]
        if not arg.startswith("-"):
            return None  # the command name: what follows is its own
    return None


@click.group(cls=AkdgbenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="akdgbench")
@click.option(
    "--plugins-dir",
    type=click.Path(file_okay=False),
    expose_value=False,
    envvar=None,
    help="Load every .py file in this directory as a plugin "
    "(default: ./plugins, or $AKDGBENCH_PLUGINS_DIR).",
)
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


@cli.command(name="run")
@run_options
@click.option("--dry-run", is_flag=True,
              help="List the cells this command would train and how (new, continued, "
              "to a longer budget, retrained), then stop: nothing is trained or written.")
def run_command(suite: str | None, out: str | None, dry_run: bool, **options) -> None:
    """Train and compare: every (dataset, teacher, arch, method, seed) cell, then the table.

    Settings come from the suite (default `quick`: embedded digits, CPU-sized),
    overridden by any option given here. Rerunning the same command on the
    same --out resumes: finished cells are kept, interrupted ones continue.
    A command trains only the cells it names; the directory's table shows
    every cell the directory holds.

    \b
    Examples:
      akdgbench run                                    # quick suite: digits, ~6 min on 2 cores
      akdgbench run --methods akdg,mse --arch sngan    # two methods, SNGAN students
      akdgbench run --suite digits --out results/digits --jobs 2
      akdgbench run --suite digits --out results/digits --dry-run   # what it would train
      akdgbench run --precision fp32 --channels-last off   # override the auto fast paths
      akdgbench run --suite paper-cifar10 --executor submitit:partition=gpu:gpus_per_job=1
    """
    from akdgbench.run_settings import resolve_settings
    from akdgbench.runner import run_grid

    config = resolve_settings(suite, options)
    if dry_run:
        from akdgbench.run_plan import plan_grid

        click.echo("\n".join(plan_grid(config, out)))
        return
    summary = run_grid(config, out=out, echo=lambda text: click.echo(text, err=True))
    if summary.table:
        click.echo(summary.table)
    click.echo(
        f"{summary.done} done, {summary.failed} failed, {summary.skipped} skipped "
        f"(already finished) -> {summary.run_dir}",
        err=True,
    )
    if summary.failed:
        sys.exit(1)


@cli.command(name="info")
@click.option("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def info_command(device: str, as_json: bool) -> None:
    """The machine as akdgbench sees it and the fast paths `auto` picks on it.

    Paste its output into a bug report.

    \b
    Examples:
      akdgbench info
      akdgbench info --device cpu --json
    """
    import platform

    import torch

    from akdgbench.hardware import default_jobs, describe_fast_paths, detect, resolve_fast_paths

    machine = detect()
    record = resolve_fast_paths(device, "auto", "auto")
    jobs = default_jobs(torch.device(record["device"]), machine)
    if as_json:
        click.echo(json.dumps({"akdgbench": __version__, "python": platform.python_version(),
                               **record, "jobs_auto": jobs}, indent=2))
        return
    click.echo(f"akdgbench {__version__}, python {platform.python_version()}")
    for line in [*machine.describe(), *describe_fast_paths(record)]:
        click.echo(line)
    click.echo(f"jobs: auto runs {jobs} cell(s) side by side")


@cli.command(name="suites")
def suites_command() -> None:
    """List the benchmark suites `run --suite` accepts, one line each."""
    from akdgbench.suites import describe_suites

    for name, description in describe_suites():
        click.echo(f"{name:20s} {description}")


@cli.command(name="table")
@click.argument("run_dirs", nargs=-1, required=True, metavar="RUN_DIR...")
@click.option(
    "--format",
    "fmt",
    default=None,
    metavar="FORMAT",
    help="github (default; or markdown), latex, csv or html; --out FILE.tex etc. "
    "implies it.",
)
@click.option(
    "--metrics",
    default=None,
    metavar="LIST",
    help="Comma-separated columns, e.g. fid,is,kid,params,mult_adds,layers,"
    "images_per_s (default: layers,params,mult_adds,is,fid).",
)
@click.option("--out", default=None, metavar="FILE", help="Write the table here, not to stdout.")
@METHODS_FILTER
@click.option(
    "--compare",
    is_flag=True,
    help="Instead, each method against vanilla and against the best of its student "
    "architecture: ΔFID, 95% CI and Welch's p over seeds.",
)
def table_command(
    run_dirs: tuple[str, ...], fmt: str | None, metrics: str | None, out: str | None,
    methods: list[str] | None, compare: bool,
) -> None:
    """The paper-style table of one or more run directories (concatenated; a cell that
    several hold under the same recipe, such as a shared teacher, counts once).

    \b
    Examples:
      akdgbench table results/run-1
      akdgbench table results/run-1 results/run-2 --format latex --out table.tex
      akdgbench table results/run-1 --metrics fid,kid,images_per_s --format csv
      akdgbench table results/run-1 --compare         # is a difference real?
      akdgbench table results/digits --methods vanilla,feature-kd,tinygan,ssgc,dcd
    """
    from akdgbench.comparison_table import render_comparisons
    from akdgbench.results import atomic_write_text
    from akdgbench.tables import format_for_path, load_runs, parse_format, render_table

    fmt = parse_format(fmt or (format_for_path(out) if out else None) or "github")
    if compare and metrics:
        raise UsageError("--compare compares FID; --metrics applies to the main table only")
    rows = load_runs(run_dirs, methods)
    text = render_comparisons(rows, fmt) if compare else render_table(rows, fmt, metrics)
    if out:
        atomic_write_text(out, text)
        click.echo(out)
    else:
        click.echo(text, nl=False)


@cli.command(name="curves")
@click.argument("run_dir")
@click.option("--format", "fmt", default="github", metavar="FORMAT",
              help="github (default; or markdown), latex, html or tsv.")
@METHODS_FILTER
def curves_command(run_dir: str, fmt: str, methods: list[str] | None) -> None:
    """Has each method's FID curve flattened? Mean over seeds from --eval-every scores.

    \b
    Examples:
      akdgbench curves results/digits
    """
    from akdgbench.convergence import CURVE_FORMATS, method_curves, render_curves
    from akdgbench.tables import parse_format

    fmt = parse_format(fmt, CURVE_FORMATS)  # before reading the run
    click.echo(render_curves(method_curves(run_dir, methods), fmt), nl=False)


@cli.command(name="plot")
@click.argument("run_dir")
@click.option(
    "--out", default=None, metavar="DIR", help="Where the PNGs go (default: RUN_DIR/plots)."
)
@METHODS_FILTER
def plot_command(run_dir: str, out: str | None, methods: list[str] | None) -> None:
    """Figures of a run: FID against params and images/s, FID over steps, sample montage.

    \b
    Examples:
      akdgbench plot results/run-1
      akdgbench plot results/run-1 --out figures
    """
    from akdgbench.plots import plot_run

    for path in plot_run(run_dir, out, methods):
        click.echo(str(path))


# historic: plugins loaded later (the plugins directory) add their commands as they load
plugins.pm.hook.register_commands.call_historic(kwargs={"cli": cli})


def main() -> None:
    # a scheduler's time limit or `kill` stops a run as Ctrl-C does: it says how to resume
    signal.signal(signal.SIGTERM, _interrupt)
    cli(prog_name="akdgbench")


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    main()
