from __future__ import annotations

import pytest

from calmdesk.accounts.models import Organisation, User
from calmdesk.audit.models import AuditEvent
from calmdesk.conversations.models import Conversation
from calmdesk.conversations.services import inbound_message_receive
from calmdesk.customers.models import ContactIdentity, Customer
from calmdesk.customers.services import (
    CustomerError,
    customer_add_identity,
    customer_find_or_create,
    customer_merge,
)

pytestmark = pytest.mark.django_db


def test_same_identity_finds_same_customer_and_new_identity_attaches(org: Organisation) -> None:
    first = customer_find_or_create(organisation=org, email="Kim@Example.com", name="Kim")
    again = customer_find_or_create(organisation=org, email="kim@example.com", handle="kim-chat")
    assert first.pk == again.pk
    assert set(ContactIdentity.objects.filter(customer=first).values_list("kind", "value")) == {
        ("email", "kim@example.com"),
        ("handle", "kim-chat"),
    }


def test_identity_cannot_belong_to_two_customers(org: Organisation, agent_a: User) -> None:
    kim = customer_find_or_create(organisation=org, email="kim@example.com")
    lee = customer_find_or_create(organisation=org, email="lee@example.com")
    with pytest.raises(CustomerError, match="already belongs"):
        customer_add_identity(customer=lee, kind="email", value="KIM@example.com", actor=agent_a)
    assert ContactIdentity.objects.get(value="kim@example.com").customer == kim


def test_merge_moves_history_keeps_both_rows_and_routes_new_mail(
    org: Organisation, agent_a: User
) -> None:
    a = inbound_message_receive(
        organisation=org,
        channel="api",
        external_id="1",
        body_text="Hi",
        customer_email="old@example.com",
    ).customer
    b = inbound_message_receive(
        organisation=org,
        channel="chat",
        external_id="2",
        body_text="Hi",
        customer_handle="visitor-9",
    ).customer
    merged = customer_merge(source=b, target=a, actor=agent_a)

    assert merged.pk == a.pk
    assert Customer.objects.count() == 2  # nothing deleted
    b.refresh_from_db()
    assert b.merged_into_id == a.pk
    assert Conversation.objects.filter(customer=a).count() == 2
    assert AuditEvent.objects.filter(action="customer.merged", target_id=a.pk).exists()
    later = inbound_message_receive(
        organisation=org,
        channel="chat",
        external_id="3",
        body_text="Me again",
        customer_handle="visitor-9",
    )
    assert later.customer.pk == a.pk

    with pytest.raises(CustomerError):
        customer_merge(source=a, target=a, actor=agent_a)
