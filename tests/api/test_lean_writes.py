"""The lean insert must store what save() stores, and behave like it towards receivers."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.db.models.signals import post_save
from django.test.utils import CaptureQueriesContext

from calmdesk.accounts.models import Organisation
from calmdesk.conversations.models import Conversation, Direction, Message
from calmdesk.customers.models import ContactIdentity, Customer
from calmdesk.lean_writes import insert, insert_many, update

pytestmark = pytest.mark.django_db(transaction=True)


def _stored(model: type[Model], pk: object) -> dict[str, object]:
    row = model.objects.get(pk=pk)
    return {
        f.attname: getattr(row, f.attname)
        for f in model._meta.concrete_fields
        if not f.primary_key and f.attname not in ("created_at", "updated_at")
    }


def _message(organisation: Organisation, conversation: Conversation, external_id: str) -> Message:
    return Message(
        organisation=organisation,
        conversation=conversation,
        direction=Direction.INBOUND,
        channel="api",
        external_id=external_id,
        body_text="Where is my parcel? <script>x</script>",
        assessment={"scores": {"anger": 0.25}, "flags": [{"kind": "repeat", "span": [0, 5]}]},
        anger=0.25,
        risk=0.1,
    )


def test_a_row_inserted_lean_reads_back_as_one_saved_by_the_orm(org: Organisation) -> None:
    customer = Customer(organisation=org, name="Dana")
    assert insert(customer) is True
    conversation = Conversation(organisation=org, customer=customer, subject="Parcel")
    insert(conversation)
    lean = _message(org, conversation, "lean-1")
    insert(lean)
    orm = _message(org, conversation, "orm-1")
    orm.save()

    assert isinstance(lean.pk, int) and lean.pk != orm.pk
    assert not lean._state.adding and lean._state.db == "default"
    lean_row, orm_row = _stored(Message, lean.pk), _stored(Message, orm.pk)
    assert lean_row.pop("external_id") == "lean-1" and orm_row.pop("external_id") == "orm-1"
    # JSON comes back as the same structure, defaults are applied, text is untouched.
    assert lean_row == orm_row
    assert lean_row["assessment"] == {
        "scores": {"anger": 0.25},
        "flags": [{"kind": "repeat", "span": [0, 5]}],
    }
    # auto_now_add stamped the instance in memory and in the row.
    stored = Message.objects.get(pk=lean.pk)
    assert lean.created_at is not None and stored.created_at == lean.created_at


def test_a_conflict_is_skipped_without_breaking_the_transaction(org: Organisation) -> None:
    customer = Customer.objects.create(organisation=org)
    ContactIdentity.objects.create(
        organisation=org, customer=customer, kind="email", value="dana@example.com"
    )
    other = Customer.objects.create(organisation=org)

    with transaction.atomic():
        duplicate = ContactIdentity(
            organisation=org, customer=other, kind="email", value="dana@example.com"
        )
        assert insert(duplicate, ignore_conflicts=True) is False
        assert duplicate.pk is None and duplicate._state.adding
        # Still usable: PostgreSQL would refuse every further statement after an error.
        fresh = ContactIdentity(
            organisation=org, customer=other, kind="email", value="dana.2@example.com"
        )
        assert insert(fresh, ignore_conflicts=True) is True

    owners = dict(
        ContactIdentity.objects.filter(organisation=org).values_list("value", "customer_id")
    )
    assert owners == {"dana@example.com": customer.pk, "dana.2@example.com": other.pk}


def test_without_ignore_conflicts_a_duplicate_raises(org: Organisation) -> None:
    customer = Customer.objects.create(organisation=org)
    conversation = Conversation.objects.create(organisation=org, customer=customer)
    insert(_message(org, conversation, "once"))

    with pytest.raises(IntegrityError), transaction.atomic():
        insert(_message(org, conversation, "once"))
    assert Message.objects.filter(external_id="once").count() == 1


def test_post_save_receivers_hear_a_created_row(org: Organisation) -> None:
    heard: list[tuple[int, bool]] = []

    def receiver(sender: type[Model], instance: Customer, created: bool, **kwargs: Any) -> None:
        heard.append((instance.pk, created))

    post_save.connect(receiver, sender=Customer, dispatch_uid="test-lean-writes")
    try:
        customer = Customer(organisation=org, name="Sam")
        insert(customer)
    finally:
        post_save.disconnect(sender=Customer, dispatch_uid="test-lean-writes")

    assert heard == [(customer.pk, True)]


def test_one_statement_per_row_and_only_new_rows(org: Organisation) -> None:
    customer = Customer(organisation=org)
    with CaptureQueriesContext(connection) as queries:
        insert(customer)
    assert len(queries.captured_queries) == 1
    assert queries.captured_queries[0]["sql"].startswith("INSERT")

    with pytest.raises(ValueError, match="new rows only"):
        insert(customer)


def test_insert_many_writes_rows_in_order_in_one_statement(org: Organisation) -> None:
    heard: list[int] = []

    def receiver(sender: type[Model], instance: Customer, created: bool, **kwargs: Any) -> None:
        assert created
        heard.append(instance.pk)

    customers = [Customer(organisation=org, name=name) for name in ("Ann", "Bo", "Cy")]
    post_save.connect(receiver, sender=Customer, dispatch_uid="test-lean-writes-many")
    try:
        with CaptureQueriesContext(connection) as queries:
            insert_many(customers)
    finally:
        post_save.disconnect(sender=Customer, dispatch_uid="test-lean-writes-many")

    assert len(queries.captured_queries) == 1
    # Each instance got the key of its own row, and receivers heard every row, in order.
    assert {c.pk: c.name for c in customers} == dict(
        Customer.objects.filter(pk__in=[c.pk for c in customers]).values_list("pk", "name")
    )
    assert heard == [c.pk for c in customers]
    assert all(not c._state.adding for c in customers)


def test_insert_many_refuses_mixed_models_and_saved_rows(org: Organisation) -> None:
    customer = Customer(organisation=org)
    with pytest.raises(TypeError, match="one model"):
        insert_many([customer, Conversation(organisation=org, customer=customer)])
    insert(customer)
    with pytest.raises(ValueError, match="new rows only"):
        insert_many([Customer(organisation=org), customer])
    # Nothing half-written: the new row before the saved one was not inserted either.
    assert Customer.objects.filter(organisation=org).count() == 1
    insert_many([])


def test_update_rewrites_only_the_named_columns_like_save(org: Organisation) -> None:
    customer = Customer(organisation=org, name="Eve")
    insert(customer)
    conversation = Conversation(organisation=org, customer=customer, subject="Refund")
    insert(conversation)
    stored_before = Conversation.objects.get(pk=conversation.pk)
    heard: list[tuple[bool, frozenset[str] | None]] = []

    def receiver(sender: type[Model], instance: Conversation, created: bool, **kwargs: Any) -> None:
        heard.append((created, kwargs.get("update_fields")))

    conversation.priority = 3
    conversation.subject = "changed in memory only"
    post_save.connect(receiver, sender=Conversation, dispatch_uid="test-lean-update")
    try:
        with CaptureQueriesContext(connection) as queries:
            update(conversation, fields=("priority", "updated_at"))
    finally:
        post_save.disconnect(sender=Conversation, dispatch_uid="test-lean-update")

    assert len(queries.captured_queries) == 1
    stored = Conversation.objects.get(pk=conversation.pk)
    assert stored.priority == 3
    assert stored.subject == "Refund"  # not named, not written
    assert stored.updated_at > stored_before.updated_at
    assert heard == [(False, frozenset({"priority", "updated_at"}))]

    with pytest.raises(ValueError, match="stored rows only"):
        update(Conversation(organisation=org, customer=customer), fields=("priority",))
    Conversation.objects.filter(pk=conversation.pk).delete()
    with pytest.raises(Conversation.DoesNotExist):
        update(conversation, fields=("priority",))
