"""Mode collapse as a finding: a generator whose samples show one or a few modes.

A collapsed cell finished, but its numbers say nothing about its method: a
baseline that collapses makes every other method look good, and a mean over
seeds that mixes a collapse with healthy runs means nothing. So a cell is
flagged ``collapsed`` when its samples break either rule below (shares in
:mod:`akdgbench.defaults`, measured and argued there), and tables pool only
the healthy seeds, counting collapses like failed seeds:

- its Inception Score is under a share of the real data's: the samples are
  (almost) one mode, or one the classifier cannot tell apart;
- its class coverage (:func:`akdgbench.fidelity.class_coverage`) is under a
  share of the real data's: the samples are confidently a few classes.

IS alone misses the second kind, because a few crisp classes still score a
fair IS; coverage alone misses the first, because one blurry glyph can be
classed as several digits at once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from akdgbench import defaults

#: (score key, its name in a reason, the share of the real data's value under which it collapsed)
RULES = (
    ("is_mean", "IS", defaults.COLLAPSE_IS_SHARE_OF_REAL),
    ("class_coverage", "class coverage", defaults.COLLAPSE_COVERAGE_SHARE_OF_REAL),
)


def _score(scores: Mapping[str, Any], key: str) -> float | None:
    value = scores.get(key)
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def collapse_reason(scores: Mapping[str, Any], real: Mapping[str, Any]) -> str | None:
    """``IS 1.01 is under 20% of real data's 9.79``: the first rule broken, or None."""
    for key, name, share in RULES:
        value, yardstick = _score(scores, key), _score(real, key)
        if value is not None and yardstick is not None and yardstick > 0 \
                and value < share * yardstick:
            return f"{name} {value:.2f} is under {share:.0%} of real data's {yardstick:.2f}"
    return None


def is_collapsed(scores: Mapping[str, Any], real: Mapping[str, Any]) -> bool | None:
    """True when a rule is broken; None when no rule has both scores to judge by."""
    if collapse_reason(scores, real) is not None:
        return True
    judged = any(_score(scores, key) is not None and _score(real, key) is not None
                 for key, _, _ in RULES)
    return False if judged else None
