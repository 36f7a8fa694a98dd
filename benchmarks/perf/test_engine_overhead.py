"""Engine overhead: one training step of the engine against the same step written by hand.

Both sides train the quick suite's DCGAN student on the in-memory digits,
with the same seed, batch, loss and fused Adam; their steps alternate one
for one in the same process. ``engine_overhead_ratio`` is the engine's time
over the hand-written loop's (per round the median of the ratios of steps
timed side by side, then the median of rounds; target at most 1.03). For
``vanilla`` a third side is the loop as usually written, with torch's default
(unfused) Adam: what the engine's choices buy over it.
"""

from __future__ import annotations

import pytest

from benchmarks.perf.budgets import scaled_width
from benchmarks.perf.harness import (
    BareGAN,
    Rounds,
    build_teacher,
    engine_step_clock,
    milliseconds,
    paired_ratio,
    run_engine,
    settings,
    steady,
    timed,
)

BATCH_SIZE = 64
#: engine logging this often (the default is every 100 steps) puts its flushes in the timed steps
LOG_EVERY = 5


def specs(budget) -> tuple[str, str]:
    """The quick suite's student and teacher (``akdgbench/suites/quick.toml``)."""
    student = f"dcgan:width={scaled_width(0.17, budget)}:d_width={scaled_width(0.25, budget)}"
    teacher = f"dcgan:width={scaled_width(0.25, budget)}:d_width={scaled_width(0.25, budget)}"
    return student, teacher


@pytest.mark.parametrize("method", ["vanilla", "akdg"])
def test_engine_overhead(method, benchmark, budget, mnist5k, perf_results):
    benchmark.group = "engine overhead"
    student_spec, teacher_spec = specs(budget)
    teacher = build_teacher(teacher_spec, mnist5k) if method == "akdg" else None
    batch_size = min(BATCH_SIZE, 8 * budget.overhead_steps)
    per_round: dict[str, list[float]] = {"engine": [], "bare": [], "default_adam": []}
    ratios, plain_ratios = [], []

    def one_round() -> None:
        sides = {"bare": BareGAN(student_spec, mnist5k, batch_size, teacher=teacher)}
        if method == "vanilla":
            sides["default_adam"] = BareGAN(student_spec, mnist5k, batch_size, fused_adam=False)
        seconds: dict[str, list[float]] = {name: [] for name in sides}
        steps = [timed(side.step, seconds[name]) for name, side in sides.items()]
        ticks = iter(range(10**9))

        def hand_written_steps() -> None:  # in alternating order, so neither side always leads
            for step in steps if next(ticks) % 2 == 0 else steps[::-1]:
                step()

        with engine_step_clock(hand_written_steps) as engine_seconds:
            outcome = run_engine(mnist5k, student_spec, method, settings(
                budget.overhead_steps + 1, batch_size, log_every=LOG_EVERY),
                teacher=teacher, teacher_spec=teacher_spec if teacher else None)
        assert sum(p.numel() for p in outcome.generator.parameters()) == sum(
            p.numel() for p in sides["bare"].generator.parameters()), "not the same models"
        engine = steady(engine_seconds, budget.warmup_steps)
        bare = seconds["bare"][budget.warmup_steps:][:len(engine)]
        per_round["engine"] += engine
        per_round["bare"] += bare
        ratios.append(paired_ratio(engine, bare))
        if "default_adam" in seconds:
            default_adam = seconds["default_adam"][budget.warmup_steps:][:len(engine)]
            per_round["default_adam"] += default_adam
            plain_ratios.append(paired_ratio(engine, default_adam))

    benchmark.pedantic(one_round, rounds=budget.rounds, iterations=1)

    result = {
        "student": student_spec, "teacher": teacher_spec if teacher else None,
        "batch_size": batch_size, "log_every": LOG_EVERY,
        "steps_per_round": budget.overhead_steps - budget.warmup_steps,
        "engine_ms_per_step": milliseconds(per_round["engine"]),
        "bare_ms_per_step": milliseconds(per_round["bare"]),
        "ratio": Rounds(ratios).summary(),
    }
    if plain_ratios:
        result["default_adam_loop_ms_per_step"] = milliseconds(per_round["default_adam"])
        result["vs_default_adam_loop"] = Rounds(plain_ratios).summary()
    perf_results.setdefault("engine_overhead", {})[method] = result
    benchmark.extra_info.update(result)
