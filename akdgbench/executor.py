"""The contract for executor plugins: where the cells of a grid run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import ClassVar, TypeVar

from akdgbench.specs import Configurable

Item = TypeVar("Item")
Result = TypeVar("Result")


class Executor(Configurable):
    plugin_kind = "executor"
    #: cells run in this process, on this machine (so its devices can be checked up front)
    in_process: ClassVar[bool] = False

    def map(
        self, function: Callable[[Item], Result], items: list[Item]
    ) -> Iterator[tuple[Item, Result]]:
        """Run ``function`` on every item (a picklable top-level function for remote executors).

        Yields ``(item, result)`` as each finishes, in any order. ``function``
        records its own failures in its result; an exception here means the
        executor itself broke.
        """
        raise NotImplementedError

