"""Mode collapse as a finding: a generator whose samples show (almost) one mode.

A collapsed cell finished, but its numbers say nothing about its method: a
baseline that collapses makes every other method look good, and a mean over
seeds that mixes a collapse with healthy runs means nothing. So a cell is
flagged ``collapsed`` when its Inception Score falls under a share of the
real data's IS (``defaults.COLLAPSE_IS_SHARE_OF_REAL``, measured and argued
there), and tables pool only the healthy seeds, counting collapses like
failed seeds.
"""

from __future__ import annotations

import math

from akdgbench import defaults


def is_collapsed(is_mean: float | None, real_is_mean: float | None,
                 share: float = defaults.COLLAPSE_IS_SHARE_OF_REAL) -> bool | None:
    """True/False by the IS rule; None when either score is missing (nothing to judge by)."""
    if is_mean is None or real_is_mean is None or math.isnan(is_mean) \
            or math.isnan(real_is_mean) or real_is_mean <= 0:
        return None
    return is_mean < share * real_is_mean


def collapse_reason(is_mean: float, real_is_mean: float,
                    share: float = defaults.COLLAPSE_IS_SHARE_OF_REAL) -> str:
    """``IS 1.01 is under 20% of real data's 9.79``: the one line a table notes."""
    return f"IS {is_mean:.2f} is under {share:.0%} of real data's {real_is_mean:.2f}"
