import signal
import sys

import pytest
import torch

# Tests see the built-in plugins only, never what happens to be installed (as in simonw/llm).
sys._called_from_test = True  # type: ignore[attr-defined]

# The Ctrl-C tests send SIGINT to runs they start. A shell starts background jobs (`nohup`,
# `cmd &` in a script) with SIGINT ignored, and child processes inherit that: the runs would
# never see it. A handled signal is reset to its default in a child, so let it through here.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def _deterministic_torch():
    torch.manual_seed(0)
    yield
