"""A flat registry per plugin kind: validates names, refuses duplicates, records who registered."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from akdgbench.errors import UsageError, unknown_name_error


@dataclass(frozen=True)
class Entry:
    name: str
    obj: Any
    plugin: str
    #: what the plugin said beside the object (``register(obj, name, **details)``)
    details: dict[str, Any] = field(default_factory=dict)


class Registry:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry] = {}

    def register(
        self, obj: Any, name: str | None = None, *, plugin: str = "?", **details: Any
    ) -> None:
        name = name or getattr(obj, "name", None)
        if not name or not isinstance(name, str):
            raise UsageError(f"plugin {plugin!r} registered a {self.kind} without a name")
        if name in self._entries:
            first = self._entries[name].plugin
            raise UsageError(
                f"{self.kind} {name!r} is registered twice: by plugin {first!r} and by {plugin!r}"
            )
        self._entries[name] = Entry(name, obj, plugin, details)

    def get(self, name: str) -> Any:
        return self.entry(name).obj

    def entry(self, name: str) -> Entry:
        if name not in self._entries:
            raise unknown_name_error(self.kind, name, self._entries)
        return self._entries[name]

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entries(self) -> Iterator[Entry]:
        yield from self._entries.values()

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)
