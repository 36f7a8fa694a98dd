import sys

import pytest
import torch

# Tests see the built-in plugins only, never what happens to be installed (as in simonw/llm).
sys._called_from_test = True  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _deterministic_torch():
    torch.manual_seed(0)
    yield
