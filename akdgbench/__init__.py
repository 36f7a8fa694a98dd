"""akdgbench: benchmark knowledge distillation of GANs."""

from akdgbench.architecture import Architecture, Generator
from akdgbench.dataset import Dataset, TensorImages
from akdgbench.errors import UsageError
from akdgbench.executor import Executor
from akdgbench.hookspecs import hookimpl
from akdgbench.method import Method

__version__ = "0.1.0"

__all__ = [
    "Architecture",
    "Dataset",
    "Executor",
    "Generator",
    "Method",
    "TensorImages",
    "UsageError",
    "hookimpl",
    "__version__",
]
