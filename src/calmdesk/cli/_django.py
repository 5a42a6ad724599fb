"""Start Django for the sub-commands that need the web app or the database."""

from __future__ import annotations

import os


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "calmdesk.config.settings")
    import django

    django.setup()
