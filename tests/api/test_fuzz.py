"""Property-based fuzzing of the whole API from its own OpenAPI schema (schemathesis).

Every generated request, valid or not, must get a documented status with a body
that matches the documented schema, and never a server error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import negative_data_rejection, positive_data_acceptance
from schemathesis.config import SchemathesisConfig

from calmdesk.accounts.models import User

wsgi_app = get_wsgi_application()
# Oversized bodies (413) are refused too: schemathesis' list of refusals lacks 413.
config = SchemathesisConfig.from_dict(
    {
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428]
            }
        }
    }
)
# POST /email/raw takes the email itself: fuzz it with raw bytes, as for octet-stream.
schemathesis.serializer.alias("message/rfc822", "application/octet-stream")
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", wsgi_app, config=config)


@pytest.fixture(autouse=True)
def keep_the_test_connection() -> Any:
    """Call the WSGI app the way Django's test Client does.

    A real request ends by closing database connections that are no longer in
    autocommit mode; inside a test's transaction that would close the test's own
    connection (seen on PostgreSQL). The test Client unhooks the same handler.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(admin_user: User, token_for: Callable[[User], str]) -> str:
    return token_for(admin_user)


@schema.parametrize()
@hypothesis_settings(
    max_examples=20,
    deadline=None,
    # CI must be repeatable: the same examples every run (explore more with
    # HYPOTHESIS_PROFILE or a larger max_examples by hand).
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@pytest.mark.django_db
def test_api_conforms_to_its_schema(case: Any, bearer: str) -> None:
    excluded = []
    components = case.meta.components.values() if case.meta is not None else ()
    if any(component.mode.is_negative for component in components):
        # schemathesis' coverage phase can label a case "positive" while it sends an
        # invalid body (seen: body `0` with a boundary path id); such a case is not
        # schema-valid data, so the API refusing it is right.
        excluded.append(positive_data_acceptance)
    if any(value in (None, []) for value in (case.query or {}).values()):
        # A generated query parameter whose value is empty is not sent at all (urlencode drops
        # an empty list), so a "schema-violating" extra parameter may never reach the API: its
        # answering 200 is right (seen in CI: an extra parameter absent from the request).
        excluded.append(negative_data_rejection)
    case.call_and_validate(headers={"Authorization": f"Bearer {bearer}"}, excluded_checks=excluded)
