"""What this machine can do fast, and the fast paths chosen from it.

A fast path measured on one host is a fact about that host: bf16 autocast is
about 1.5x faster than fp32 on a CPU with native bf16 (AMX, AVX512-BF16) and
about 10x slower on one without (an AVX2-only EPYC: 2.9 s against 0.31 s per
step, see README "Performance"). So ``auto`` decides from the machine's
feature flags and torch's own capability queries, never from a vendor name.
"""

from __future__ import annotations

import functools
import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from akdgbench.errors import UsageError

#: CPU feature flags that decide a fast path (Linux /proc/cpuinfo names)
NATIVE_BF16_FLAGS = ("amx_bf16", "avx512_bf16")
REPORTED_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16")
PRECISION_CHOICES = ("auto", "fp32", "bf16", "fp16")
CHANNELS_LAST_CHOICES = ("auto", "on", "off")


@dataclass(frozen=True)
class Hardware:
    """The facts about this machine that the fast paths and the run header use."""

    cpu_model: str
    cpu_flags: tuple[str, ...]  # those of REPORTED_FLAGS that this CPU has
    cores: int  # cores this process may use (its affinity mask)
    torch_threads: int
    torch_version: str
    cuda_devices: tuple[str, ...] = ()
    cuda_bf16: bool = False

    @property
    def native_cpu_bf16(self) -> bool:
        return any(flag in self.cpu_flags for flag in NATIVE_BF16_FLAGS)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "native_cpu_bf16": self.native_cpu_bf16}

    def describe(self) -> list[str]:
        """Lines for the run header, ``akdgbench info`` and bug reports."""
        flags = " ".join(self.cpu_flags) or "none of " + ", ".join(REPORTED_FLAGS)
        bf16 = "native bf16" if self.native_cpu_bf16 else "no native bf16"
        lines = [
            f"cpu: {self.cpu_model} ({self.cores} cores; flags: {flags}; {bf16})",
            f"torch {self.torch_version}, {self.torch_threads} threads",
        ]
        if self.cuda_devices:
            bf16_gpu = "bf16" if self.cuda_bf16 else "no bf16"
            lines.append(f"cuda: {', '.join(self.cuda_devices)} ({bf16_gpu})")
        else:
            lines.append("cuda: none")
        return lines


@dataclass(frozen=True)
class Choice:
    """A fast-path decision and why it was made (printed and recorded with the run)."""

    value: Any
    reason: str


def cpu_flags_from_cpuinfo(text: str) -> set[str]:
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return set(line.split(":", 1)[1].split())
    return set()


def cpu_model_from_cpuinfo(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return ""


def _torch_cpu_flags() -> set[str]:
    """torch's own query (it reads CPUID), for systems without /proc/cpuinfo."""
    get_capabilities = getattr(torch.cpu, "get_capabilities", None)
    if get_capabilities is None:
        return set()
    try:
        return {name for name, value in get_capabilities().items() if value is True}
    except Exception:  # an optional query: the flags from /proc/cpuinfo still apply
        return set()


@functools.cache
def detect() -> Hardware:
    """This machine, read once per process."""
    cpuinfo = Path("/proc/cpuinfo")
    text = cpuinfo.read_text(errors="replace") if cpuinfo.exists() else ""
    flags = cpu_flags_from_cpuinfo(text) | _torch_cpu_flags()
    model = cpu_model_from_cpuinfo(text) or platform.processor() or platform.machine()
    cuda_devices: tuple[str, ...] = ()
    cuda_bf16 = False
    if torch.cuda.is_available():
        cuda_devices = tuple(
            torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())
        )
        cuda_bf16 = torch.cuda.is_bf16_supported()
    return Hardware(
        cpu_model=model,
        cpu_flags=tuple(flag for flag in REPORTED_FLAGS if flag in flags),
        cores=available_cores(),
        torch_threads=torch.get_num_threads(),
        torch_version=torch.__version__,
        cuda_devices=cuda_devices,
        cuda_bf16=cuda_bf16,
    )


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def choose_precision(requested: str, device: torch.device, hardware: Hardware) -> Choice:
    """``auto``: bf16 where the hardware runs it natively, else fp32; fp16 never by default.

    An explicit choice is kept; bf16 on a CPU without native bf16 runs, with a
    reason that warns it will be slow, and fp16 on a CPU is refused.
    """
    if requested not in PRECISION_CHOICES:
        raise UsageError(
            f"precision must be one of {', '.join(PRECISION_CHOICES)}, not {requested!r}"
        )
    if device.type == "cuda":
        if requested == "bf16" and not hardware.cuda_bf16:
            raise UsageError("this GPU does not support bf16; use fp16 or fp32")
        if requested != "auto":
            return Choice(requested, "asked for")
        if hardware.cuda_bf16:
            return Choice("bf16", "auto: the GPU supports bf16")
        return Choice("fp32", "auto: the GPU has no bf16 (fp16 is never chosen by default)")
    if requested == "fp16":
        raise UsageError("precision fp16 needs a CUDA device; use bf16 or fp32 on the CPU")
    native = [flag.upper().replace("_", "-") for flag in NATIVE_BF16_FLAGS
              if flag in hardware.cpu_flags]
    if requested == "bf16":
        if native:
            return Choice("bf16", "asked for")
        return Choice("bf16", "asked for; WARNING: this CPU has no native bf16 (no AMX, no "
                              "AVX512-BF16), so bf16 is emulated and about 10x slower than fp32")
    if requested == "fp32":
        return Choice("fp32", "asked for")
    if native:
        return Choice("bf16", f"auto: the CPU has {' and '.join(native)}")
    return Choice("fp32", "auto: the CPU has no native bf16 (no AMX, no AVX512-BF16)")


def parse_channels_last(value: Any) -> str:
    """``auto``, ``on`` or ``off`` from a suite value (bool or text) or a command-line word."""
    if isinstance(value, bool):
        return "on" if value else "off"
    words = {"auto": "auto", "on": "on", "true": "on", "yes": "on", "1": "on",
             "off": "off", "false": "off", "no": "off", "0": "off"}
    normal = words.get(str(value).strip().lower())
    if normal is None:
        raise UsageError(f"channels-last must be auto, on or off, not {value!r}")
    return normal


def choose_channels_last(requested: Any, device: torch.device, precision: str) -> Choice:
    """``auto``: channels-last on the CPU (faster for every conv net and precision measured)
    and on CUDA with bf16/fp16 (tensor cores read NHWC); contiguous for fp32 on CUDA."""
    mode = parse_channels_last(requested)
    if mode != "auto":
        return Choice(mode == "on", "asked for")
    if device.type == "cpu":
        return Choice(True, "auto: faster convolutions on the CPU (fp32 and bf16, measured on "
                            "AVX2 and AVX512-BF16 hosts)")
    if precision in ("bf16", "fp16"):
        return Choice(True, f"auto: {precision} convolutions on tensor cores prefer NHWC")
    return Choice(False, "auto: fp32 on CUDA")


def default_jobs(device: torch.device, hardware: Hardware) -> int:
    """``--jobs auto``: one cell per GPU; on a CPU one cell per core (each on one thread).

    Measured on a 2-core host (REFERENCE): two one-thread cells side by side
    train 1.22x the steps/s of one cell on both threads.
    """
    return max(1, len(hardware.cuda_devices) if device.type == "cuda" else hardware.cores)


def parse_jobs(value: Any) -> int | str:
    """``auto`` or a positive integer."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    jobs = None
    if isinstance(value, str) and value.strip().lstrip("+").isdigit():
        jobs = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        jobs = value
    if jobs is None or jobs < 1:
        raise UsageError(f"jobs must be auto or a positive integer, not {value!r}")
    return jobs


def resolve_fast_paths(device_name: str, precision_choice: str,
                       channels_last_choice: Any) -> dict[str, Any]:
    """``auto`` precision and memory format decided for this machine's device.

    Returns a record of the machine and each choice (``record["precision"]["value"]``,
    ``record["channels_last"]["value"]``) with its reason (the run header prints it;
    ``config.json`` keeps it).
    """
    from akdgbench.training_settings import resolve_device

    device = resolve_device(device_name)
    hardware = detect()
    precision = choose_precision(precision_choice, device, hardware)
    channels_last = choose_channels_last(channels_last_choice, device, precision.value)
    return {
        "device": str(device),
        "hardware": hardware.as_dict(),
        "precision": asdict(precision),
        "channels_last": asdict(channels_last),
    }


def describe_fast_paths(record: dict[str, Any]) -> list[str]:
    memory_format = "channels-last" if record["channels_last"]["value"] else "contiguous"
    return [
        f"device: {record['device']}",
        f"precision: {record['precision']['value']} ({record['precision']['reason']})",
        f"memory format: {memory_format} ({record['channels_last']['reason']})",
    ]
