"""How much each benchmark measures: the full budget, and a smoke budget that checks they run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    """Sizes of one benchmark run. Steps count generator steps (one D step each)."""

    name: str
    rounds: int  # interleaved rounds per comparison
    overhead_steps: int  # engine steps per round of the engine-overhead comparison
    warmup_steps: int  # first steps of each run left out of every step time
    fast_path_steps: int  # engine steps per run of a training fast path
    fast_path_rounds: int
    throughput_batch: int  # generator images per timed forward
    throughput_rounds: int
    compile: bool  # torch.compile costs 10-60 s per model on a CPU
    eval_samples: int
    eval_rounds: int
    scaling_steps: int
    scaling_base_width: float
    scaling_base_batch: int
    arch_scale: float  # multiplies every width below (the smoke budget shrinks the models)
    resolution: int


BUDGETS = {
    "full": Budget("full", rounds=7, overhead_steps=14, warmup_steps=2, fast_path_steps=8,
                   fast_path_rounds=3, throughput_batch=256, throughput_rounds=7, compile=True,
                   eval_samples=500, eval_rounds=16, scaling_steps=8, scaling_base_width=0.125,
                   scaling_base_batch=32, arch_scale=1.0, resolution=32),
    "smoke": Budget("smoke", rounds=1, overhead_steps=4, warmup_steps=1, fast_path_steps=3,
                    fast_path_rounds=1, throughput_batch=8, throughput_rounds=1, compile=False,
                    eval_samples=200, eval_rounds=1, scaling_steps=3, scaling_base_width=0.0625,
                    scaling_base_batch=8, arch_scale=0.5, resolution=16),
}


def scaled_width(width: float, budget: Budget) -> str:
    """A width option scaled by the budget, as a spec value."""
    return f"{width * budget.arch_scale:g}"
