"""Teacher checkpoints of other code bases, chosen by a prefix: ``--teacher-checkpoint NAME:PATH``.

A plain path is one of akdgbench's own files (``akdgbench.teachers``). A
prefix names a format registered by a plugin (``register_checkpoint_formats``);
the built-in ``mimicry:`` maps torch-mimicry's SNGAN checkpoints onto ``sngan``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from akdgbench.errors import UsageError

if TYPE_CHECKING:
    from akdgbench.architecture import Architecture
    from akdgbench.dataset import Dataset
    from akdgbench.teachers import Teacher

_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9_-]+")  # two letters at least: "C:\\x" stays a path


class CheckpointFormat:
    """Loads a teacher (generator, and discriminator where the file holds one) from a file."""

    name: ClassVar[str]
    description: ClassVar[str] = ""

    def load(self, path: Path, dataset: Dataset, teacher_arch: Architecture) -> Teacher:
        """The teacher built by ``teacher_arch`` for ``dataset`` with the file's weights.

        Raise ``UsageError`` (one line) when the file is not of this format or
        does not fit ``teacher_arch`` at the data set's resolution.
        """
        raise NotImplementedError


def split_checkpoint_spec(spec: str) -> tuple[CheckpointFormat | None, Path]:
    """``(format, path)`` for ``PREFIX:PATH``; ``(None, path)`` for akdgbench's own files."""
    from akdgbench.plugins import get_registry

    prefix, separator, rest = spec.partition(":")
    if separator and _PREFIX.fullmatch(prefix):
        registry = get_registry("checkpoint format")
        if prefix in registry:
            return registry.get(prefix)(), Path(rest).expanduser()
        if not Path(spec).expanduser().exists():
            known = ", ".join(f"{name}:" for name in registry.names()) or "none"
            raise UsageError(f"unknown teacher checkpoint prefix {prefix + ':'!r} "
                             f"(known prefixes: {known}; or a plain path to an akdgbench file)")
    return None, Path(spec).expanduser()
