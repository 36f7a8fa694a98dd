"""Fast paths: bf16 autocast, channels-last memory and torch.compile, against fp32 eager.

For the quick suite's DCGAN and SNGAN students: generator images/s (the
efficiency column of a table) and the engine's training step (one D step and
one G step), each configuration interleaved with the others round by round.
Speed-ups are fp32 eager time over the configuration's time (median of rounds).
"""

from __future__ import annotations

import contextlib
import statistics
import time

import pytest
import torch

from akdgbench.hardware import choose_channels_last, choose_precision, detect
from akdgbench.plugins import make
from benchmarks.perf.budgets import scaled_width
from benchmarks.perf.harness import (
    SEED,
    Rounds,
    device_name,
    engine_step_clock,
    run_engine,
    settings,
    steady,
    synchronize,
)

TRAIN_BATCH = 64
#: engine settings of each configuration; "compile" ones only where the budget allows
CONFIGS = {
    "fp32": {},
    "bf16": {"precision": "bf16"},
    "channels_last": {"channels_last": True},
    "bf16+channels_last": {"precision": "bf16", "channels_last": True},
    "compile": {"compile": True},
    "compile+bf16+channels_last": {"compile": True, "precision": "bf16", "channels_last": True},
}
#: compiled training recompiles during its first steps (no-grad fakes, then the G phase)
COMPILE_WARMUP_STEPS = 3


def student_spec(family: str, budget) -> str:
    """The quick suite's students (``akdgbench/suites/quick.toml``)."""
    if family == "dcgan":
        return f"dcgan:width={scaled_width(0.17, budget)}:d_width={scaled_width(0.25, budget)}"
    return f"sngan:width={scaled_width(0.125, budget)}:d_width={scaled_width(0.125, budget)}"


def configs(budget, compiled: bool = True) -> list[str]:
    return [name for name in CONFIGS
            if "compile" not in name or (budget.compile and compiled)]


def autocast(precision: str):
    if precision == "bf16":
        return torch.autocast(device_name(), dtype=torch.bfloat16)
    return contextlib.nullcontext()


def speedups(seconds: dict[str, list[float]]) -> dict[str, Rounds]:
    """Per-round fp32 time over each configuration's time."""
    return {name: Rounds([base / other for base, other in zip(seconds["fp32"], times, strict=True)])
            for name, times in seconds.items()}


def best(table: dict[str, dict]) -> str:
    measured = {name: row["speedup"]["median"] for name, row in table.items() if "speedup" in row}
    return max(measured, key=measured.get)


def auto_config() -> str:
    """The configuration ``--precision auto --channels-last auto`` picks on this machine."""
    device = torch.device(device_name())
    precision = choose_precision("auto", device, detect()).value
    channels_last = choose_channels_last("auto", device, precision).value
    name = "+".join([*(["bf16"] if precision == "bf16" else []),
                     *(["channels_last"] if channels_last else [])])
    return name or "fp32"


def with_auto(table: dict[str, dict]) -> dict[str, str | float]:
    """What auto picks, the fastest path measured, and auto's speed as a share of the best's."""
    auto, fastest = auto_config(), best(table)
    share = table[auto]["speedup"]["median"] / table[fastest]["speedup"]["median"]
    return {"auto": auto, "best": fastest, "auto_vs_best": round(share, 3)}


@pytest.mark.parametrize("family", ["dcgan", "sngan"])
def test_generator_throughput(family, benchmark, budget, mnist5k, perf_results):
    benchmark.group = "fast paths: generator images/s"
    spec, device = student_spec(family, budget), torch.device(device_name())
    latent = torch.randn(budget.throughput_batch, 128, device=device,
                         generator=torch.Generator(device).manual_seed(SEED))
    names = configs(budget)
    forwards, first_call_s, outputs = {}, {}, {}
    for name in names:
        options = CONFIGS[name]
        torch.manual_seed(SEED)
        generator = make("architecture", spec).build_generator(mnist5k.resolution, mnist5k.channels)
        generator = generator.to(device).eval()
        if options.get("channels_last"):
            generator = generator.to(memory_format=torch.channels_last)
        forward = torch.compile(generator) if options.get("compile") else generator
        start = time.perf_counter()
        with torch.inference_mode(), autocast(options.get("precision", "fp32")):
            outputs[name] = forward(latent).float()
        synchronize()
        first_call_s[name] = time.perf_counter() - start
        forwards[name] = forward
    for name in names:  # every path makes the same images, up to its precision
        tolerance = 0.1 if "bf16" in name else 1e-3
        torch.testing.assert_close(outputs[name], outputs["fp32"], atol=tolerance, rtol=0)

    seconds: dict[str, list[float]] = {name: [] for name in names}
    rounds = iter(range(10**9))

    def one_round() -> None:
        shift = next(rounds) % len(names)  # each configuration leads in turn
        for name in names[shift:] + names[:shift]:
            with torch.inference_mode(), autocast(CONFIGS[name].get("precision", "fp32")):
                synchronize()
                start = time.perf_counter()
                forwards[name](latent)
                synchronize()
            seconds[name].append(time.perf_counter() - start)

    benchmark.pedantic(one_round, rounds=budget.throughput_rounds, iterations=1)

    ratios = speedups(seconds)
    table = {name: {"images_per_s": round(budget.throughput_batch / statistics.median(times)),
                    "speedup": ratios[name].summary(2),
                    "first_call_s": round(first_call_s[name], 2)}
             for name, times in seconds.items()}
    result = {"generator": spec, "batch_size": budget.throughput_batch, "configs": table,
              **with_auto(table)}
    perf_results.setdefault("fast_paths", {}).setdefault("generation", {})[family] = result
    benchmark.extra_info.update(result)


def engine_step_seconds(spec: str, dataset, steps: int, warmup: int, options: dict) -> float:
    """Median seconds of the engine's training step after ``warmup`` steps."""
    with engine_step_clock() as seconds:
        run_engine(dataset, spec, "vanilla", settings(steps + 1, TRAIN_BATCH, **options),
                   progress=False)
    return statistics.median(steady(seconds, warmup))


@pytest.mark.parametrize("family", ["dcgan", "sngan"])
def test_training_step(family, benchmark, budget, mnist5k, perf_results):
    benchmark.group = "fast paths: training step"
    spec = student_spec(family, budget)
    names = configs(budget, compiled=False)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    rounds = iter(range(10**9))

    def one_round() -> None:
        shift = next(rounds) % len(names)
        for name in names[shift:] + names[:shift]:
            seconds[name].append(engine_step_seconds(
                spec, mnist5k, budget.fast_path_steps, budget.warmup_steps, CONFIGS[name]))

    benchmark.pedantic(one_round, rounds=budget.fast_path_rounds, iterations=1)

    ratios = speedups(seconds)
    table = {name: {"ms_per_step": round(1000 * statistics.median(times), 1),
                    "speedup": ratios[name].summary(2)}
             for name, times in seconds.items()}
    if budget.compile:  # one run each (compiling again per round would take minutes)
        fp32 = statistics.median(seconds["fp32"])
        for name in (n for n in CONFIGS if "compile" in n):
            try:
                step = engine_step_seconds(spec, mnist5k, budget.fast_path_steps,
                                           COMPILE_WARMUP_STEPS, CONFIGS[name])
            except Exception as exc:  # recorded: a fast path that fails is a result too
                table[name] = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0]}"}
                continue
            table[name] = {"ms_per_step": round(1000 * step, 1),
                           "speedup": {"median": round(fp32 / step, 2), "rounds": 1}}
    result = {"student": spec, "batch_size": TRAIN_BATCH, "n_dis": 1, "configs": table,
              **with_auto(table)}
    perf_results.setdefault("fast_paths", {}).setdefault("training", {})[family] = result
    benchmark.extra_info.update(result)
