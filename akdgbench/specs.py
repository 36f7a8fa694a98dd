"""Plugin specs: ``name`` or ``name:key=value:key=value``, lists separated by commas.

Every configurable plugin (method, architecture, data set, executor) is a
:class:`Configurable`: it declares its options as a dict of defaults; values in
a spec are converted to the type of the default, so ``dcgan:width=abc`` fails
with a clear line. ``akdgbench.plugins.make(kind, spec)`` builds one from a spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from akdgbench.errors import UsageError


@dataclass(frozen=True)
class Spec:
    name: str
    options: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        """``name:key=value:...``, options sorted: one spelling per configuration."""
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


class Configurable:
    """The base every configurable plugin kind shares: a name, options, and its spec.

    ``given`` holds the options the spec set; ``config`` every option, resolved
    (defaults, then :meth:`preset`, then ``given``).
    """

    #: the plugin kind, as messages name it ("method 'akdg': unknown option ...")
    plugin_kind: ClassVar[str] = "plugin"
    name: ClassVar[str]
    description: ClassVar[str] = ""
    #: every option with its default; a spec may set only these
    options: ClassVar[dict[str, Any]] = {}

    def __init__(self, **given: Any) -> None:
        self.given = dict(given)
        self.config = resolve_options(
            f"{self.plugin_kind} {self.name!r}", self.options, given, self.preset()
        )

    def preset(self) -> dict[str, Any]:
        """Values over the defaults and under the given options (none unless a kind has some)."""
        return {}

    @property
    def spec(self) -> str:
        """The spec that makes this object again, e.g. ``dcgan:width=0.25``."""
        return str(Spec(self.name, self.given))
