"""The server's pre-fork warm-up covers every calmdesk template and URL pattern."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.template.loader import get_template
from django.template.loaders.filesystem import Loader as FilesystemLoader
from django.urls import get_resolver

import calmdesk
from calmdesk.config.warm import warm_django


def test_every_calmdesk_template_is_compiled_and_every_pattern_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    package = Path(calmdesk.__file__).resolve().parent
    on_disk = sorted(
        path.relative_to(directory).as_posix()
        for directory in package.glob("*/templates")
        for path in directory.rglob("*.html")
    )

    warmed = warm_django()

    assert warmed.templates == len(on_disk) > 10
    assert warmed.url_patterns > 50
    # Compiled and cached: rendering any of them later reads no file.
    reads: list[Any] = []
    original = FilesystemLoader.get_contents

    def counting(self: FilesystemLoader, origin: Any) -> str:
        reads.append(origin)
        return original(self, origin)

    monkeypatch.setattr(FilesystemLoader, "get_contents", counting)
    for name in on_disk:
        get_template(name)
    assert reads == []
    # The URLconf is loaded: resolving needs no import any more.
    assert get_resolver().resolve("/login/").url_name == "login"
