"""The fast paths ``auto`` picks, with the CPU flags and the CUDA capability faked."""

import json

import pytest
import torch
from click.testing import CliRunner

from akdgbench.cli import cli
from akdgbench.errors import UsageError
from akdgbench.hardware import (
    Hardware,
    choose_channels_last,
    choose_precision,
    cpu_flags_from_cpuinfo,
    cpu_model_from_cpuinfo,
    default_jobs,
    detect,
    parse_channels_last,
    parse_jobs,
)

CPU = torch.device("cpu")
CUDA = torch.device("cuda")


def machine(*flags, cuda=(), cuda_bf16=False, cores=2):
    return Hardware("a CPU", tuple(flags), cores, cores, "2.x", tuple(cuda), cuda_bf16)


@pytest.mark.parametrize("flags, expected", [
    (("avx2", "avx512f", "amx_tile", "amx_bf16"), "bf16"),  # Xeon with AMX
    (("avx2", "avx512f", "avx512_bf16"), "bf16"),  # e.g. Zen 4 / Cooper Lake
    (("avx2",), "fp32"),  # an AVX2-only EPYC: emulated bf16 was ~10x slower
    (("avx2", "avx512f"), "fp32"),  # AVX-512 without its bf16 extension
    ((), "fp32"),
])
def test_auto_precision_on_the_cpu_follows_native_bf16(flags, expected):
    assert choose_precision("auto", CPU, machine(*flags)).value == expected


def test_auto_precision_names_its_reason():
    assert "AMX-BF16" in choose_precision("auto", CPU, machine("amx_bf16")).reason
    assert "no native bf16" in choose_precision("auto", CPU, machine("avx2")).reason


def test_auto_precision_on_cuda_follows_bf16_support():
    assert choose_precision("auto", CUDA, machine(cuda=["H100"], cuda_bf16=True)).value == "bf16"
    assert choose_precision("auto", CUDA, machine(cuda=["T4"], cuda_bf16=False)).value == "fp32"


def test_fp16_is_never_the_default_but_can_be_asked_for_on_cuda():
    for bf16 in (True, False):
        assert choose_precision("auto", CUDA, machine(cuda=["gpu"], cuda_bf16=bf16)).value != "fp16"
    assert choose_precision("fp16", CUDA, machine(cuda=["gpu"])).value == "fp16"


def test_bf16_asked_for_without_native_support_runs_with_a_warning():
    choice = choose_precision("bf16", CPU, machine("avx2"))
    assert choice.value == "bf16" and "WARNING" in choice.reason and "slower" in choice.reason
    assert "WARNING" not in choose_precision("bf16", CPU, machine("amx_bf16")).reason


def test_fp16_on_the_cpu_and_bf16_on_an_old_gpu_are_refused():
    with pytest.raises(UsageError, match="fp16 needs a CUDA device"):
        choose_precision("fp16", CPU, machine("amx_bf16"))
    with pytest.raises(UsageError, match="does not support bf16"):
        choose_precision("bf16", CUDA, machine(cuda=["T4"], cuda_bf16=False))


def test_channels_last_auto():
    assert choose_channels_last("auto", CPU, "fp32").value is True
    assert choose_channels_last("auto", CUDA, "bf16").value is True
    assert choose_channels_last("auto", CUDA, "fp32").value is False
    assert choose_channels_last("off", CPU, "bf16").value is False
    assert choose_channels_last(True, CUDA, "fp32").value is True


@pytest.mark.parametrize("value, expected", [
    ("auto", "auto"), ("on", "on"), ("OFF", "off"), (True, "on"), (False, "off"), ("yes", "on"),
])
def test_parse_channels_last(value, expected):
    assert parse_channels_last(value) == expected


@pytest.mark.parametrize("bad", ["maybe", "", "2"])
def test_parse_channels_last_refuses(bad):
    with pytest.raises(UsageError, match="channels-last must be auto, on or off"):
        parse_channels_last(bad)


@pytest.mark.parametrize("value, expected", [("auto", "auto"), ("3", 3), (2, 2)])
def test_parse_jobs(value, expected):
    assert parse_jobs(value) == expected


@pytest.mark.parametrize("bad", ["0", "-1", "abc", 0, 1.5, True])
def test_parse_jobs_refuses(bad):
    with pytest.raises(UsageError, match="jobs must be auto or a positive integer"):
        parse_jobs(bad)


def test_default_jobs():
    assert default_jobs(CPU, machine(cores=8)) == 8
    assert default_jobs(CUDA, machine(cuda=["a", "b"], cores=32)) == 2


CPUINFO = """processor\t: 0
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile
"""


def test_cpuinfo_parsing():
    assert cpu_model_from_cpuinfo(CPUINFO) == "Intel(R) Xeon(R) Platinum 8480+"
    assert {"amx_bf16", "avx512_bf16", "avx2"} <= cpu_flags_from_cpuinfo(CPUINFO)
    assert cpu_flags_from_cpuinfo("nothing here") == set()


def test_detect_reads_this_machine():
    here = detect()
    assert here.cores >= 1 and here.torch_threads >= 1 and here.cpu_model
    assert set(here.cpu_flags) <= {"avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16"}


def test_info_command_prints_the_machine_and_the_choices():
    result = CliRunner().invoke(cli, ["info", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert "cpu:" in result.output and "precision:" in result.output
    assert "memory format:" in result.output and "jobs:" in result.output
    data = json.loads(CliRunner().invoke(cli, ["info", "--device", "cpu", "--json"]).output)
    expected = "bf16" if detect().native_cpu_bf16 else "fp32"
    assert data["precision"]["value"] == expected
    assert data["hardware"]["cpu_model"] == detect().cpu_model
