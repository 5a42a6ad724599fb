"""Django settings for calmdesk.

Everything that differs between a laptop demo and production comes from the
environment (CALMDESK_*); the defaults give the embedded setup: SQLite in a
data directory, no other service.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DATA_DIR = Path(os.environ.get("CALMDESK_DATA_DIR", Path.cwd() / "var")).resolve()


def _secret_key() -> str:
    """The key comes from the environment; the embedded default keeps one per data directory."""
    from_env = os.environ.get("CALMDESK_SECRET_KEY")
    if from_env:
        return from_env
    key_file = DATA_DIR / "secret_key.txt"
    try:
        return key_file.read_text().strip()
    except FileNotFoundError:
        pass
    try:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        key_file.write_text(key)
        key_file.chmod(0o600)
        return key
    except OSError:
        # A read-only place (some CI checkouts): a per-process key still works,
        # sessions just do not survive a restart.
        return secrets.token_urlsafe(50)


SECRET_KEY = _secret_key()
DEBUG = _env_bool("CALMDESK_DEBUG", False)
ALLOWED_HOSTS = _env_list(
    "CALMDESK_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS = _env_list("CALMDESK_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "django_tasks",
    "django_tasks_db",
    "calmdesk.accounts",
    "calmdesk.audit",
    "calmdesk.customers",
    "calmdesk.conversations",
    "calmdesk.channels",
    "calmdesk.policies",
    "calmdesk.incidents",
    "calmdesk.followups",
    "calmdesk.notifications",
    "calmdesk.supervision",
    "calmdesk.api",
    "calmdesk.workspace",
    "calmdesk.training_web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "calmdesk.config.urls"
WSGI_APPLICATION = "calmdesk.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "calmdesk.notifications.context.unread_notifications",
            ],
        },
    },
]


def _database() -> dict[str, Any]:
    url = os.environ.get("CALMDESK_DATABASE_URL")
    if url:
        config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
        config.setdefault("TEST", {})
        if config["ENGINE"] == "django.db.backends.postgresql":
            # The test database is created beside the one named in the URL.
            config["TEST"].setdefault("NAME", f"test_calmdesk_{config.get('NAME') or 'db'}")
            # Parameters travel apart from the SQL, and a statement run twice on a connection
            # becomes a prepared one, so PostgreSQL stops parsing and planning the receive
            # path's statements on every message. Django turns psycopg's preparation off
            # unless prepare_threshold is given; 1 rather than psycopg's 5 because psycopg
            # forgets every prepared statement at each ROLLBACK (an ingest redelivery is
            # one), and at 5 few statements ever reached the threshold.
            options = config.setdefault("OPTIONS", {})
            options.setdefault("server_side_binding", True)
            options.setdefault("prepare_threshold", 1)
        return config
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": DATA_DIR / "calmdesk.sqlite3",
        "OPTIONS": {
            # IMMEDIATE takes the write lock at BEGIN, so concurrent writers wait
            # for each other instead of failing with "database is locked".
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LOGIN_URL = "workspace:login"
LOGIN_REDIRECT_URL = "workspace:inbox"
LOGOUT_REDIRECT_URL = "workspace:login"

LANGUAGE_CODE = "en"
TIME_ZONE = os.environ.get("CALMDESK_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Only needed when a front proxy serves collected files; calmdesk serves its own.
STATIC_ROOT = os.environ.get("CALMDESK_STATIC_ROOT") or None
# Serve app static files straight from the package: no collectstatic step for
# the embedded default, and still no CDN.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Requests larger than this are refused (413) before anything is parsed.
CALMDESK_MAX_BODY_BYTES = int(os.environ.get("CALMDESK_MAX_BODY_BYTES", 256 * 1024))
DATA_UPLOAD_MAX_MEMORY_SIZE = max(CALMDESK_MAX_BODY_BYTES, 2_621_440)

TASKS = {
    "default": {
        "BACKEND": os.environ.get("CALMDESK_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

EMAIL_BACKEND = os.environ.get(
    "CALMDESK_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = os.environ.get("CALMDESK_FROM_EMAIL", "support@calmdesk.localhost")
CALMDESK_NOTIFICATION_EMAIL_MAX_AGE_HOURS = float(
    os.environ.get("CALMDESK_NOTIFICATION_EMAIL_MAX_AGE_HOURS", "24")
)
# SMTP for CALMDESK_EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend.
EMAIL_HOST = os.environ.get("CALMDESK_SMTP_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("CALMDESK_SMTP_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("CALMDESK_SMTP_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("CALMDESK_SMTP_PASSWORD", "")
# Implicit TLS (port 465) or STARTTLS (587); Django refuses both at once.
EMAIL_USE_SSL = _env_bool("CALMDESK_SMTP_SSL", False)
EMAIL_USE_TLS = _env_bool("CALMDESK_SMTP_STARTTLS", not EMAIL_USE_SSL) and not EMAIL_USE_SSL
EMAIL_TIMEOUT = 30

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("CALMDESK_LOG_LEVEL", "WARNING")},
}
