"""Plugin specs: ``name`` or ``name:key=value:key=value``, lists separated by commas.

Every configurable plugin (method, architecture, data set, executor) declares
its options as a dict of defaults; values in a spec are converted to the type
of the default, so ``dcgan:width=abc`` fails with a clear line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from akdgbench.errors import UsageError, unknown_name_error


@dataclass(frozen=True)
class Spec:
    name: str
    options: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return ":".join([self.name, *(f"{k}={v}" for k, v in sorted(self.options.items()))])


def parse_spec(text: str) -> Spec:
    parts = [part.strip() for part in text.strip().split(":")]
    name, option_parts = parts[0], parts[1:]
    if not name:
        raise UsageError(f"malformed spec {text!r}: it must start with a name")
    options: dict[str, str] = {}
    for part in option_parts:
        key, sep, value = part.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise UsageError(f"malformed spec {text!r}: expected key=value, got {part!r}")
        if key in options:
            raise UsageError(f"malformed spec {text!r}: option {key!r} given twice")
        options[key] = value
    return Spec(name, options)


def split_specs(text: str | list[str] | tuple[str, ...]) -> list[str]:
    """``"dcgan:width=0.25,mlp"`` -> ``["dcgan:width=0.25", "mlp"]`` (lists pass through)."""
    items = [text] if isinstance(text, str) else list(text)
    out = [piece.strip() for item in items for piece in str(item).split(",")]
    return [piece for piece in out if piece]


def convert_value(key: str, raw: str, default: Any, owner: str) -> Any:
    """Convert ``raw`` to the type of ``default``; a clear line when it cannot be."""
    try:
        if isinstance(default, bool):
            lowered = raw.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        kind = "true/false" if isinstance(default, bool) else type(default).__name__
        raise UsageError(f"{owner}: option {key}={raw!r} is not a valid {kind}") from None
    if default is None:
        for convert in (int, float):
            try:
                return convert(raw)
            except ValueError:
                pass
    return raw


def resolve_options(
    owner: str,
    defaults: dict[str, Any],
    given: dict[str, Any],
    preset: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Defaults, then the preset, then the given options (strings are converted)."""
    resolved = dict(defaults)
    resolved.update(preset or {})
    for key, value in given.items():
        if key not in defaults:
            raise UsageError(
                f"{owner}: unknown option {key!r}; known options: "
                + (", ".join(sorted(defaults)) or "none")
            )
        resolved[key] = (
            convert_value(key, value, defaults[key], owner) if isinstance(value, str) else value
        )
    return resolved


def lookup(kind: str, registry: dict[str, Any], name: str) -> Any:
    if name not in registry:
        raise unknown_name_error(kind, name, registry)
    return registry[name]
