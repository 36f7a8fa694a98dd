"""Scaling: the engine's step time as the batch and the model width grow (x1, x2, x4).

DCGAN (generator and discriminator widths scaled together), ``vanilla``, one
D step per G step; each engine step interleaved with the hand-written step, so
the table also shows that the engine's ratio holds at every size.
"""

from __future__ import annotations

import statistics

import pytest

from benchmarks.perf.harness import (
    BareGAN,
    engine_step_clock,
    paired_ratio,
    run_engine,
    settings,
    steady,
    timed,
)

FACTORS = [("batch", 1), ("batch", 2), ("batch", 4), ("width", 2), ("width", 4)]


@pytest.mark.parametrize(("axis", "factor"), FACTORS, ids=[f"{a}-x{f}" for a, f in FACTORS])
def test_step_scaling(axis, factor, benchmark, budget, mnist5k, perf_results):
    benchmark.group = "scaling"
    width = budget.scaling_base_width * (factor if axis == "width" else 1)
    batch_size = budget.scaling_base_batch * (factor if axis == "batch" else 1)
    spec = f"dcgan:width={width:g}:d_width={width:g}"
    measured: dict[str, list[float]] = {}

    def one_round() -> None:
        bare = BareGAN(spec, mnist5k, batch_size)
        bare_seconds: list[float] = []
        with engine_step_clock(timed(bare.step, bare_seconds)) as engine_seconds:
            run_engine(mnist5k, spec, "vanilla", settings(budget.scaling_steps + 1, batch_size),
                       progress=False)
        measured["engine"] = steady(engine_seconds, budget.warmup_steps)
        measured["bare"] = bare_seconds[budget.warmup_steps:][:len(measured["engine"])]
        measured["params"] = [sum(p.numel() for p in bare.generator.parameters())]

    benchmark.pedantic(one_round, rounds=1, iterations=1)

    engine_step = statistics.median(measured["engine"])
    row = {"axis": axis, "factor": factor, "width": width, "batch_size": batch_size,
           "generator_params": measured["params"][0],
           "engine_ms_per_step": round(1000 * engine_step, 2),
           "bare_ms_per_step": round(1000 * statistics.median(measured["bare"]), 2),
           "ratio": round(paired_ratio(measured["engine"], measured["bare"]), 3),
           "train_images_per_s": round(batch_size / engine_step)}
    rows = perf_results.setdefault("scaling", [])
    rows.append(row)
    rows.sort(key=lambda r: (r["axis"] != "batch", r["factor"]))
    benchmark.extra_info.update(row)
