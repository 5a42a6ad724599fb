"""The same message posted at the same moment by several clients is stored once."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client

from calmdesk.accounts.models import User
from calmdesk.conversations.models import Conversation, Message
from calmdesk.customers.models import Customer


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_of_one_external_id_store_one_message(
    agent_a: User, token_for: Callable[[User], str]
) -> None:
    token = token_for(agent_a)
    clients_count = 8
    barrier = threading.Barrier(clients_count)
    answers: list[tuple[int, dict[str, object]]] = []
    errors: list[BaseException] = []
    body = json.dumps(
        {
            "channel": "api",
            "external_id": "race-api-1",
            "customer": {"email": "racer@example.com"},
            "body": "I was charged twice and nobody answers. Fix it now!",
        }
    )

    def post() -> None:
        try:
            client = Client()
            barrier.wait()
            response = client.post(
                "/api/v1/inbound",
                body,
                content_type="application/json",
                headers={"Authorization": f"Bearer {token}"},
            )
            answers.append((response.status_code, response.json()))
        except BaseException as exc:
            errors.append(exc)
        finally:
            # Each thread has its own connection; leave none open behind us.
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(clients_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] * (clients_count - 1) + [201]
    assert len({answer["message_id"] for _, answer in answers}) == 1
    assert len({answer["conversation_id"] for _, answer in answers}) == 1
    assert Message.objects.filter(external_id="race-api-1").count() == 1
    assert Conversation.objects.count() == 1
    assert Customer.objects.count() == 1
