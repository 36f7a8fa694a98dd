"""``local``: cells one after another in this process (the default)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from akdgbench import hookimpl
from akdgbench.executor import Executor, Item, Result


class LocalExecutor(Executor):
    name = "local"
    description = "run cells one after another in this process"
    in_process = True

    def map(
        self, function: Callable[[Item], Result], items: list[Item]
    ) -> Iterator[tuple[Item, Result]]:
        for item in items:
            yield item, function(item)


@hookimpl
def register_executors(register):
    register(LocalExecutor)
