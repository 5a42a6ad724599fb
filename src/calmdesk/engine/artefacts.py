"""Finding a trained artefact (an .npz of arrays beside a .json of metadata) on disk."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TypeVar

Read = TypeVar("Read")


def read_artefact(
    name: str, reader: Callable[[Path, Path], Read], directory: Path | None = None
) -> Read | None:
    """`reader(npz_path, json_path)` on artefact `name` in `directory` (default: the package's
    models); None when either file is absent."""
    if directory is None:
        base = resources.files("calmdesk.engine.models")
        npz_file, json_file = base.joinpath(f"{name}.npz"), base.joinpath(f"{name}.json")
        if not (npz_file.is_file() and json_file.is_file()):
            return None
        with resources.as_file(npz_file) as npz_path, resources.as_file(json_file) as json_path:
            return reader(npz_path, json_path)
    npz_path, json_path = directory / f"{name}.npz", directory / f"{name}.json"
    if not (npz_path.is_file() and json_path.is_file()):
        return None
    return reader(npz_path, json_path)
