"""The one exception type a user can cause.

Anything raised as ``UsageError`` ends the CLI with its message on one line
and exit status 2; every other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class UsageError(Exception):
    """A problem with the user's input, data, files or machine: one clear line."""


def unknown_name_error(kind: str, name: str, known: Iterable[str]) -> UsageError:
    """``unknown method 'akgd'; known: akdg, lit, mse, vanilla (did you mean 'akdg'?)``."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    listing = ", ".join(known) if known else "none registered"
    return UsageError(f"unknown {kind} {name!r}; known: {listing}{hint}")
