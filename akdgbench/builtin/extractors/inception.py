"""``inception-v3-compat``: torch-fidelity's own Inception-v3, and where its weights come from.

torch-fidelity downloads the weights on first use. Offline, that download
fails deep inside metric code; :func:`resolve_inception_weights` finds a local
copy first (``--inception-weights``, ``$AKDGBENCH_INCEPTION_WEIGHTS``, or
torch.hub's checkpoint directory), tries the download once, and otherwise
ends with one line saying which file to fetch and where to put it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch.hub
from torch_fidelity.feature_extractor_inceptionv3 import (
    URL_INCEPTION_V3,
    FeatureExtractorInceptionV3,
)

from akdgbench import hookimpl
from akdgbench.defaults import INCEPTION_WEIGHTS_ENV
from akdgbench.errors import UsageError

NAME = "inception-v3-compat"
WEIGHTS_FILENAME = URL_INCEPTION_V3.rsplit("/", 1)[-1]


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def hub_weights_path() -> Path:
    """Where torch.hub (so torch-fidelity) keeps downloaded weights: $TORCH_HOME/hub/checkpoints."""
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILENAME


def resolve_inception_weights(explicit: str | os.PathLike[str] | None = None) -> Path:
    """A local copy of the Inception-v3 weights, downloading them once if needed.

    ``explicit`` (the ``--inception-weights`` option) wins, then
    ``$AKDGBENCH_INCEPTION_WEIGHTS``; a path given either way must exist.
    """
    given = explicit or os.environ.get(INCEPTION_WEIGHTS_ENV)
    if given:
        path = Path(given).expanduser()
        if not path.is_file():
            source = "--inception-weights" if explicit else f"${INCEPTION_WEIGHTS_ENV}"
            raise UsageError(f"Inception weights file {str(path)!r} (from {source}) does not exist")
        return path
    path = hub_weights_path()
    if path.is_file():
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(URL_INCEPTION_V3, str(path), progress=False)
    except Exception as exc:  # URLError, timeouts, HTTP errors, a read-only cache: all end alike
        raise UsageError(
            f"the Inception-v3 weights {WEIGHTS_FILENAME} are not here and could not be downloaded "
            f"({type(exc).__name__}: {one_line(exc)}); fetch {URL_INCEPTION_V3} "
            f"and put it at {path}, "
            f"or pass --inception-weights PATH (or set ${INCEPTION_WEIGHTS_ENV})"
        ) from exc
    return path


def weights_cache_tag(path: Path) -> str:
    """Names the weights in real-feature cache keys, so other weights never reuse features."""
    return f"{path.stem}-{path.stat().st_size}"


def prepare(weights: str | os.PathLike[str] | None) -> tuple[dict[str, Any], str]:
    """What torch-fidelity needs to run the extractor: the weights file, and their cache tag."""
    path = resolve_inception_weights(weights)
    return {"feature_extractor_weights_path": str(path)}, weights_cache_tag(path)


@hookimpl
def register_feature_extractors(register: Any) -> None:
    register(FeatureExtractorInceptionV3, name=NAME, prepare=prepare)
