"""The options of ``akdgbench run``, one per run setting.

Each option's value is None when not given, so the suite's value applies
(:func:`akdgbench.run_settings.resolve_settings`). The executor flags that
became executor spec options are refused with their new form.
"""

from __future__ import annotations

import click

from akdgbench.errors import UsageError

#: former ``run`` flags, now options of the submitit executor's spec
MOVED_EXECUTOR_FLAGS = {
    "--slurm-partition": "partition",
    "--gpus-per-job": "gpus_per_job",
    "--timeout-min": "timeout_min",
    "--array-parallelism": "array_parallelism",
}


def _refuse_moved_flag(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is not None:
        flag = param.opts[0]
        raise UsageError(
            f"{flag} is now an option of the executor: "
            f"--executor submitit:{MOVED_EXECUTOR_FLAGS[flag]}={value}"
        )


def run_options(function):
    """The options of ``run``; None means 'not given', so the suite's value applies."""
    options = [
        click.option(
            "--suite",
            help="Suite name or TOML path (default: quick). `akdgbench suites` lists them.",
        ),
        click.option(
            "--dataset",
            help="Data set spec(s), comma-separated (e.g. mnist5k, "
            "cifar10, folder:path=DIR:size=64).",
        ),
        click.option(
            "--teacher", help="Teacher architecture spec(s) (e.g. sngan, dcgan:width=0.5)."
        ),
        click.option("--arch", help="Student architecture spec(s), e.g. dcgan:width=0.25,mlp."),
        click.option("--methods", help="Method spec(s), e.g. vanilla,mse,lit,akdg:lambda=0.5."),
        click.option("--seeds",
                     help="A count (3 = seeds 0,1,2) or a list (0,5; `0,` is seed 0 alone)."),
        click.option("--steps", type=int, help="Generator steps per student."),
        click.option("--teacher-steps", type=int, help="Generator steps to train the teacher."),
        click.option(
            "--teacher-checkpoint",
            type=click.Path(dir_okay=False),
            help="Use this trained teacher instead of training one: an akdgbench file "
            "(a state dict, generator.pt, or checkpoint.pt, which keeps the discriminator) "
            "or mimicry:PATH (a torch-mimicry SNGAN netG file or log directory).",
        ),
        click.option(
            "--teacher-per-seed",
            is_flag=True,
            default=None,
            help="Train one teacher per seed, so the error bars include the teacher's "
            "variance (default: every seed distils the same teacher).",
        ),
        click.option("--batch-size", type=int),
        click.option(
            "--loss",
            type=click.Choice(["hinge", "ns", "wgan-gp"]),
            help="Adversarial loss (default: the architecture's paper).",
        ),
        click.option("--lr", type=float, help="Adam learning rate (default: the architecture's)."),
        click.option("--betas", help="Adam's betas, e.g. 0.0,0.9 (default: the architecture's)."),
        click.option("--n-dis", type=int, help="Discriminator steps per generator step."),
        click.option("--lr-decay", type=click.Choice(["none", "linear"])),
        click.option("--ema", type=float, help="EMA decay of the student's weights (0 = off)."),
        click.option(
            "--precision",
            metavar="auto|fp32|bf16|fp16",
            help="Training precision (default auto: bf16 where the hardware runs it "
            "natively, else fp32). `akdgbench info` shows what auto picks here.",
        ),
        click.option(
            "--compile/--no-compile", "compile", default=None, help="torch.compile the networks."
        ),
        click.option(
            "--channels-last",
            metavar="auto|on|off",
            help="Channels-last memory format (default auto: on for CPUs and for bf16/fp16 "
            "on GPUs).",
        ),
        click.option(
            "--jobs",
            metavar="N|auto",
            help="Cells side by side on this machine (local executor; default auto: one "
            "per GPU, else one per CPU core, each capped to its share of threads).",
        ),
        click.option("--device", help="auto (CUDA when present), cpu, cuda or cuda:N."),
        click.option("--checkpoint-every", type=int, help="Steps between checkpoints."),
        click.option("--log-every", type=int, help="Steps between loss logs."),
        click.option(
            "--eval-samples",
            type=int,
            help="Generated samples per evaluation (default: the data set's: 50,000 "
            "for natural images, 5,000 for mnist5k).",
        ),
        click.option("--eval-batch-size", type=int),
        click.option(
            "--eval-every",
            type=int,
            help="Also evaluate FID/IS every N steps (eval_log.csv; `akdgbench curves`).",
        ),
        click.option(
            "--eval-every-samples",
            type=int,
            help="Samples per --eval-every evaluation (default: --eval-samples, so curve "
            "and table scores compare; FID depends on the count).",
        ),
        click.option(
            "--feature-extractor", help="auto, digits, inception-v3-compat, or a plugin's."
        ),
        click.option("--metrics", help="Comma list of fid, isc, kid, prc."),
        click.option(
            "--inception-weights",
            type=click.Path(dir_okay=False),
            envvar="AKDGBENCH_INCEPTION_WEIGHTS",
            help="Local copy of torch-fidelity's Inception weights (offline use).",
        ),
        click.option(
            "--data-root",
            type=click.Path(file_okay=False),
            envvar="AKDGBENCH_DATA",
            help="Where data sets live (default ~/.cache/akdgbench/data).",
        ),
        click.option(
            "--executor",
            help="local (default) or submitit, with the executor's own options, e.g. "
            "submitit:cluster=slurm:partition=gpu:gpus_per_job=1:timeout_min=600.",
        ),
        *(
            click.option(flag, hidden=True, expose_value=False, callback=_refuse_moved_flag)
            for flag in MOVED_EXECUTOR_FLAGS
        ),
        click.option(
            "--skip-incompatible",
            is_flag=True,
            default=None,
            help="Record cells whose method cannot pair their teacher and student "
            "(LIT on unaligned stages) as skipped rows instead of refusing the grid.",
        ),
        click.option(
            "--rerun-failed",
            is_flag=True,
            default=None,
            help="Also rerun cells that failed or diverged.",
        ),
        click.option("--quiet", is_flag=True, default=None, help="No progress bars."),
        click.option(
            "--out",
            type=click.Path(),
            help="Run directory (default: a new results/run-DATE-TIME). "
            "An existing one is resumed.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function
