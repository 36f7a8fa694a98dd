"""The contract for executor plugins: where the cells of a grid run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, ClassVar, TypeVar

from akdgbench.specs import parse_spec, resolve_options

Item = TypeVar("Item")
Result = TypeVar("Result")


class Executor:
    name: ClassVar[str]
    description: ClassVar[str] = ""
    options: ClassVar[dict[str, Any]] = {}
    #: cells run in this process, on this machine (so its devices can be checked up front)
    in_process: ClassVar[bool] = False

    def __init__(self, **given: Any) -> None:
        self.given = dict(given)
        self.config = resolve_options(f"executor {self.name!r}", self.options, given)

    def map(
        self, function: Callable[[Item], Result], items: list[Item]
    ) -> Iterator[tuple[Item, Result]]:
        """Run ``function`` on every item (a picklable top-level function for remote executors).

        Yields ``(item, result)`` as each finishes, in any order. ``function``
        records its own failures in its result; an exception here means the
        executor itself broke.
        """
        raise NotImplementedError


def make_executor(spec: str, **overrides: Any) -> Executor:
    from akdgbench.plugins import get

    parsed = parse_spec(spec)
    cls = get("executor", parsed.name)
    return cls(**{**overrides, **parsed.options})
