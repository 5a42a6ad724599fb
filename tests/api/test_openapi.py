from __future__ import annotations

import json

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

EXPECTED_OPERATIONS = {
    ("/api/v1/inbound", "post"),
    ("/api/v1/conversations", "get"),
    ("/api/v1/conversations/{conversation_id}", "get"),
    ("/api/v1/conversations/{conversation_id}/replies", "post"),
    ("/api/v1/customers/{customer_id}", "get"),
    ("/api/v1/incidents", "get"),
    ("/api/v1/followups", "get"),
    ("/api/v1/assess", "post"),
    ("/api/v1/coach", "post"),
    ("/api/v1/email/raw", "post"),
    ("/api/v1/webhooks", "get"),
    ("/api/v1/webhooks", "post"),
    ("/api/v1/webhooks/{subscription_id}", "get"),
    ("/api/v1/webhooks/{subscription_id}", "patch"),
    ("/api/v1/webhooks/{subscription_id}", "delete"),
    ("/api/v1/webhooks/{subscription_id}/deliveries", "get"),
    ("/api/v1/chat/settings", "get"),
    ("/api/v1/chat/settings", "put"),
    ("/api/v1/attachments/{attachment_id}", "get"),
}


def test_openapi_schema_is_served_without_auth_and_lists_every_endpoint() -> None:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    operations = {(path, method) for path, item in schema["paths"].items() for method in item}
    assert operations == EXPECTED_OPERATIONS
    assert not any("{path" in path or "unknown" in path for path in schema["paths"])
    schemes = schema["components"]["securitySchemes"]
    assert any(s == {"type": "http", "scheme": "bearer"} for s in schemes.values())
    inbound = schema["paths"]["/api/v1/inbound"]["post"]
    assert {"200", "201", "401", "413", "422"} <= set(inbound["responses"])
    body_ref = inbound["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body_schema = schema["components"]["schemas"][body_ref.rsplit("/", 1)[1]]
    assert body_schema["additionalProperties"] is False
    assert set(body_schema["required"]) == {"channel", "external_id", "customer", "body"}


def test_every_reference_in_the_schema_resolves() -> None:
    schema = Client().get("/api/v1/openapi.json").json()
    refs: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                refs.append(ref)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    assert refs
    for ref in refs:
        assert ref.startswith("#/components/schemas/")
        assert ref.rsplit("/", 1)[1] in schema["components"]["schemas"], ref


def test_no_docs_page_that_would_load_a_cdn() -> None:
    response = Client().get("/api/v1/docs")
    assert response.status_code == 404
    assert b"cdn" not in response.content.lower()


def test_unknown_api_paths_answer_json_404() -> None:
    response = Client().get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("get", "/api/v1/inbound", "POST"),
        ("delete", "/api/v1/conversations/1", "GET"),
        ("put", "/api/v1/conversations", "GET"),
        ("get", "/api/v1/conversations/1/replies", "POST"),
    ],
)
def test_wrong_method_is_json_405(method: str, path: str, allowed: str) -> None:
    response = getattr(Client(), method)(path)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response["Allow"] == allowed
