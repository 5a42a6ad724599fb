"""Writes to customers and their contact identities."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from calmdesk.accounts.models import Organisation, User
from calmdesk.audit.services import audit_record
from calmdesk.customers.models import ContactIdentity, Customer, IdentityKind
from calmdesk.customers.selectors import customer_current
from calmdesk.lean_reads import JoinedRead, Link
from calmdesk.lean_writes import insert


class CustomerError(ValueError):
    """A customer operation that cannot be done as asked."""


def normalise_identity(*, kind: str, value: str) -> str:
    value = value.strip()
    if kind == IdentityKind.EMAIL:
        return value.lower()
    return value


def customer_find_or_create(
    *,
    organisation: Organisation,
    email: str | None = None,
    handle: str | None = None,
    name: str = "",
) -> Customer:
    """The customer behind any of the given identities, created on first contact.

    Identities that are new are attached to the customer found, so the next
    message from either address lands on the same record.
    """
    return customer_and_identities_find_or_create(
        organisation=organisation, email=email, handle=handle, name=name
    ).customer


@dataclass(frozen=True)
class FoundCustomer:
    customer: Customer
    # The stored identity rows for the email address and the handle that were given.
    # None when that kind was not given, or another request attached it to someone
    # else at the same moment.
    email: ContactIdentity | None
    handle: ContactIdentity | None
    # The customer record was made by this call (their first contact).
    customer_created: bool = False
    # Kinds of the identities this call attached: nothing about them (a block, say)
    # can have been recorded before.
    identities_created: frozenset[str] = frozenset()


# Every customer message looks its sender up; through the ORM this read cost ~0.5 ms of CPU.
# (organisation, kind, value) is unique.
_IDENTITY_WITH_CUSTOMER = JoinedRead(
    Link(ContactIdentity),
    Link(Customer, through="customer", required=True),
    where=("organisation", "kind", "value"),
)


def customer_and_identities_find_or_create(
    *,
    organisation: Organisation,
    email: str | None = None,
    handle: str | None = None,
    name: str = "",
) -> FoundCustomer:
    """`customer_find_or_create`, also returning the identity rows, so a message can
    record which of the customer's addresses it came from."""
    wanted = [
        (IdentityKind.EMAIL, normalise_identity(kind=IdentityKind.EMAIL, value=email))
        if email
        else None,
        (IdentityKind.HANDLE, normalise_identity(kind=IdentityKind.HANDLE, value=handle))
        if handle
        else None,
    ]
    identities = [pair for pair in wanted if pair and pair[1]]
    if not identities:
        raise CustomerError("a customer needs an email address or a chat handle")

    customer: Customer | None = None
    rows: dict[str, ContactIdentity] = {}
    for kind, value in identities:
        found = _IDENTITY_WITH_CUSTOMER.one(organisation.pk, kind, value)
        if isinstance(found, ContactIdentity):
            customer = customer_current(found.customer)
            rows[kind] = found
            break
    customer_created = customer is None
    if customer is None:
        customer = Customer(organisation=organisation, name=name.strip()[:200])
        insert(customer)
    elif name and not customer.name:
        customer.name = name.strip()[:200]
        customer.save(update_fields=["name"])

    # The identity we found the customer by exists already: attaching only the others
    # keeps the common case (a known sender) free of a savepoint and a second lookup.
    # The others were not found a moment ago, so they are inserted straight away; only
    # a request attaching the same one at the same moment makes the insert write nothing
    # (ON CONFLICT DO NOTHING: no savepoint, two statements fewer for every new sender).
    created: set[str] = set()
    for kind, value in identities:
        if kind in rows:
            continue
        identity = ContactIdentity(
            organisation=organisation, kind=kind, value=value, customer=customer
        )
        if insert(identity, ignore_conflicts=True):
            rows[kind] = identity
            created.add(kind)
        else:
            # Another request attached it at the same moment; theirs stands. When that
            # was the only way to reach the customer we just made, that record would be
            # left empty: the other request's customer is this person, so use it.
            if customer_created and not rows:
                taken = ContactIdentity.objects.select_related("customer").filter(
                    organisation=organisation, kind=kind, value=value
                )[:1]
                if taken:
                    customer.delete()
                    customer = customer_current(taken[0].customer)
                    customer_created = False
                    rows[kind] = taken[0]
    return FoundCustomer(
        customer=customer,
        email=rows.get(IdentityKind.EMAIL),
        handle=rows.get(IdentityKind.HANDLE),
        customer_created=customer_created,
        identities_created=frozenset(created),
    )


def customer_add_identity(
    *, customer: Customer, kind: str, value: str, actor: User | None
) -> ContactIdentity:
    if kind not in IdentityKind.values:
        raise CustomerError(f"unknown identity kind {kind!r}")
    value = normalise_identity(kind=kind, value=value)
    if not value:
        raise CustomerError("an identity needs a value")
    try:
        with transaction.atomic():
            identity = ContactIdentity.objects.create(
                organisation=customer.organisation, customer=customer, kind=kind, value=value
            )
    except IntegrityError as exc:
        raise CustomerError(f"{kind} {value} already belongs to another customer") from exc
    audit_record(
        organisation=customer.organisation,
        actor=actor,
        action="customer.identity_added",
        target_type="customer",
        target_id=customer.pk,
        data={"kind": kind, "value": value},
    )
    return identity


def customer_update_notes(*, customer: Customer, notes: str, actor: User | None) -> Customer:
    customer.notes = notes
    customer.save(update_fields=["notes"])
    audit_record(
        organisation=customer.organisation,
        actor=actor,
        action="customer.notes_updated",
        target_type="customer",
        target_id=customer.pk,
    )
    return customer


@transaction.atomic
def customer_merge(*, source: Customer, target: Customer, actor: User | None) -> Customer:
    """Fold `source` into `target`: identities and conversations move; nothing is deleted."""
    if source.pk == target.pk:
        raise CustomerError("a customer cannot be merged into itself")
    if source.organisation_id != target.organisation_id:
        raise CustomerError("customers of different organisations cannot be merged")
    if target.merged_into_id is not None:
        raise CustomerError("the target was itself merged into another customer")
    from calmdesk.conversations.models import Conversation

    moved_identities = ContactIdentity.objects.filter(customer=source).update(customer=target)
    moved_conversations = Conversation.objects.filter(customer=source).update(customer=target)
    if source.notes:
        target.notes = f"{target.notes}\n\n{source.notes}".strip()
    target.value = target.value + source.value
    target.save(update_fields=["notes", "value"])
    source.merged_into = target
    source.save(update_fields=["merged_into"])
    audit_record(
        organisation=target.organisation,
        actor=actor,
        action="customer.merged",
        target_type="customer",
        target_id=target.pk,
        data={
            "source_id": source.pk,
            "identities": moved_identities,
            "conversations": moved_conversations,
        },
    )
    return target
