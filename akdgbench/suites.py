"""Suites: TOML files of ``run`` options (``akdgbench run --suite NAME|PATH``).

A suite holds a ``description`` and any ``run`` option by its name (``steps``,
``methods``, ...). Built-in suites ship in ``akdgbench/suites/`` (also reachable
as ``benchmarks/suites/`` in a checkout); ``./benchmarks/NAME.toml`` and
``./benchmarks/suites/NAME.toml`` next to the user's work win over them.
"""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import Any

from akdgbench.errors import UsageError, unknown_name_error

BUILTIN_SUITES_DIR = Path(__file__).parent / "suites"
DEFAULT_SUITE = "quick"


def suite_dirs() -> list[Path]:
    return [Path("benchmarks/suites"), Path("benchmarks"), BUILTIN_SUITES_DIR]


def available_suites() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for directory in reversed(suite_dirs()):
        if directory.is_dir():
            for path in sorted(directory.glob("*.toml")):
                found[path.stem] = path
    return found


def find_suite(name_or_path: str) -> Path:
    path = Path(name_or_path).expanduser()
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise UsageError(f"suite file {str(path)!r} does not exist")
        return path
    suites = available_suites()
    if name_or_path not in suites:
        raise unknown_name_error("suite", name_or_path, suites)
    return suites[name_or_path]


def load_suite(name_or_path: str, known_keys: set[str]) -> dict[str, Any]:
    """The suite's options, validated against ``known_keys`` (its ``description`` included)."""
    path = find_suite(name_or_path)
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"suite {path}: TOML error: {exc}") from None
    for key in data:
        if key != "description" and key not in known_keys:
            close = difflib.get_close_matches(key, known_keys, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UsageError(
                f"suite {path}: unknown key {key!r}{hint}; known keys: "
                + ", ".join(sorted(known_keys | {"description"}))
            )
    data.setdefault("description", "")
    data["suite"] = (
        str(path) if path.parent.resolve() != BUILTIN_SUITES_DIR.resolve() else path.stem
    )
    return data


def describe_suites() -> list[tuple[str, str]]:
    out = []
    for name, path in available_suites().items():
        try:
            description = tomllib.loads(path.read_text()).get("description", "")
        except tomllib.TOMLDecodeError as exc:
            description = f"(unreadable: {exc})"
        out.append((name, " ".join(str(description).split())))
    return out
