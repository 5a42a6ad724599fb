"""The lean joined read must give the same objects as the ORM's select_related."""

from __future__ import annotations

import threading

import pytest
from django.db.models import Model

from calmdesk.accounts.models import Organisation, User
from calmdesk.api.models import ApiToken
from calmdesk.api.services import (
    _TOKEN_WITH_OWNER,
    token_authenticate,
    token_create,
    token_rows_forget,
)
from calmdesk.lean_reads import JoinedRead, Link
from calmdesk.policies.document import default_policy_raw
from calmdesk.policies.services import policy_raw_get, policy_update

pytestmark = pytest.mark.django_db


def _columns(instance: Model) -> dict[str, object]:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def test_the_chain_matches_select_related_field_for_field(
    org: Organisation, admin_user: User
) -> None:
    document = default_policy_raw()
    policy_update(organisation=org, actor=admin_user, document=document)
    issued = token_create(user=admin_user, name="gateway")

    lean = _TOKEN_WITH_OWNER.one(issued.token.prefix)
    orm = ApiToken.objects.select_related("user__organisation__policy").get(pk=issued.token.pk)

    assert isinstance(lean, ApiToken)
    assert _columns(lean) == _columns(orm)
    assert _columns(lean.user) == _columns(orm.user)
    assert _columns(lean.user.organisation) == _columns(orm.user.organisation)  # type: ignore[arg-type]
    # JSON and timestamps come back converted, not as the database's text.
    assert lean.user.organisation.policy.document == document  # type: ignore[union-attr]
    assert lean.created_at == orm.created_at and lean.created_at.tzinfo is not None
    assert not lean._state.adding and lean._state.db == "default"


def test_a_missing_optional_link_reads_as_absent(org: Organisation, admin_user: User) -> None:
    issued = token_create(user=admin_user)

    lean = _TOKEN_WITH_OWNER.one(issued.token.prefix)

    assert isinstance(lean, ApiToken)
    organisation = lean.user.organisation
    assert organisation is not None
    with pytest.raises(Organisation.policy.RelatedObjectDoesNotExist):
        organisation.policy  # noqa: B018 - the access is what is tested
    # The absence is cached: the policy falls back to the default without a query.
    assert policy_raw_get(organisation=organisation) == default_policy_raw()


def test_no_row_is_none_and_the_value_is_a_parameter(org: Organisation, admin_user: User) -> None:
    token_create(user=admin_user)

    assert _TOKEN_WITH_OWNER.one("nothing-like-it") is None
    assert _TOKEN_WITH_OWNER.one("' OR 1=1 --") is None


def test_token_check_reads_one_statement_then_keeps_the_row(
    org: Organisation, admin_user: User, django_assert_num_queries: object
) -> None:
    issued = token_create(user=admin_user)
    token_authenticate(raw_token=issued.secret)  # notes last use once
    token_rows_forget()

    with django_assert_num_queries(1):  # type: ignore[operator]
        found = token_authenticate(raw_token=issued.secret)
        assert found is not None
        assert found.user.organisation == org
    with django_assert_num_queries(0):  # type: ignore[operator]
        again = token_authenticate(raw_token=issued.secret)
        assert again is not None
        # Each request gets instances of its own.
        assert again is not found and again.user is not found.user
        assert again.user.organisation == org


def test_a_link_that_is_not_a_relation_is_refused() -> None:
    with pytest.raises(ValueError, match="first link"):
        JoinedRead(Link(User, through="organisation"), where="id")
    wrong = JoinedRead(Link(ApiToken), Link(Organisation, through="user"), where="prefix")
    with pytest.raises(ValueError, match="is not a"):
        wrong.sql  # noqa: B018 - building the SQL is what is tested


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_read_for_update_holds_the_row_lock_until_the_transaction_ends(
    org: Organisation,
) -> None:
    from django.db import DatabaseError, connections, transaction

    from calmdesk.conversations.models import Conversation
    from calmdesk.customers.models import Customer

    customer = Customer.objects.create(organisation=org)
    conversation = Conversation.objects.create(organisation=org, customer=customer)
    other = Conversation.objects.create(organisation=org, customer=customer)
    read = JoinedRead(Link(Conversation), where=("id", "organisation"), for_update=True)
    outcome: dict[int, str] = {}

    def try_lock(pk: int) -> None:
        try:
            with transaction.atomic():
                Conversation.objects.select_for_update(nowait=True).get(pk=pk)
            outcome[pk] = "locked it"
        except DatabaseError:
            outcome[pk] = "refused"
        finally:
            connections.close_all()

    with transaction.atomic():
        held = read.one(conversation.pk, org.pk)
        assert isinstance(held, Conversation) and held.pk == conversation.pk
        for pk in (conversation.pk, other.pk):
            worker = threading.Thread(target=try_lock, args=(pk,))
            worker.start()
            worker.join()
    assert outcome == {conversation.pk: "refused", other.pk: "locked it"}
    try_lock(conversation.pk)
    assert outcome[conversation.pk] == "locked it"


def test_an_edit_to_the_policy_reaches_the_next_request_of_a_kept_token(
    org: Organisation, admin_user: User
) -> None:
    from calmdesk.policies.services import policy_get

    issued = token_create(user=admin_user)
    first = token_authenticate(raw_token=issued.secret)
    assert first is not None and first.user.organisation is not None
    shipped = policy_get(organisation=first.user.organisation)
    assert len(shipped.escalation_rules) == len(default_policy_raw()["escalation_rules"])

    document = default_policy_raw()
    document["escalation_rules"] = document["escalation_rules"][:1]
    policy_update(organisation=org, actor=admin_user, document=document)  # drops kept rows

    again = token_authenticate(raw_token=issued.secret)
    assert again is not None and again.user.organisation is not None
    edited = policy_get(organisation=again.user.organisation)
    assert [rule.id for rule in edited.escalation_rules] == [document["escalation_rules"][0]["id"]]
    # Requests sharing the kept row parse its document once.
    third = token_authenticate(raw_token=issued.secret)
    assert third is not None and third.user.organisation is not None
    assert policy_get(organisation=third.user.organisation) is edited
