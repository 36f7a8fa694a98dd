"""The submitit executor's settings are options of its spec, not flags of ``run``."""

import pytest
from click.testing import CliRunner

from akdgbench.cli import cli
from akdgbench.plugins import make


def test_spec_options_configure_the_executor():
    executor = make("executor",
        "submitit:partition=gpu:gpus_per_job=2:timeout_min=90:array_parallelism=4"
    )
    assert (executor.config["partition"], executor.config["gpus_per_job"]) == ("gpu", 2)
    assert (executor.config["timeout_min"], executor.config["array_parallelism"]) == (90, 4)


@pytest.mark.parametrize(
    ("flag", "value", "new_form"),
    [
        ("--slurm-partition", "gpu", "--executor submitit:partition=gpu"),
        ("--gpus-per-job", "2", "--executor submitit:gpus_per_job=2"),
        ("--timeout-min", "90", "--executor submitit:timeout_min=90"),
        ("--array-parallelism", "4", "--executor submitit:array_parallelism=4"),
    ],
)
def test_former_run_flags_name_the_new_form_in_one_line(tmp_path, flag, value, new_form):
    result = CliRunner().invoke(cli, ["run", flag, value, "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert result.output == f"Error: {flag} is now an option of the executor: {new_form}\n"
    assert not (tmp_path / "run").exists()


def test_former_flags_are_not_advertised():
    result = CliRunner().invoke(cli, ["run", "--help"])
    assert "--slurm-partition" not in result.output
    assert "--gpus-per-job" not in result.output
