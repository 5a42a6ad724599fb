from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def demo_settings(settings: Any, tmp_path: Path) -> Path:
    """Logins go to a throw-away data directory; fast hashing keeps nine staff cheap."""
    settings.DATA_DIR = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return tmp_path
